// A search as the user types it, parsed into terms the engines compile to their own syntax.
// What the user typed is data: every term is a list of tokens made by search-text.ts, which
// holds letters, digits and marks only, so no input can reach an engine as query syntax.
import { ChatError } from './errors.js';
import type { EventId } from './events.js';
import { type Segment, searchTokens, segments, segmentTokens } from './search-text.js';

/**
 * One condition every result meets: `tokens` in this order, next to each other (one token is
 * a word); with `prefix`, the last token may be the start of a longer one (`pre*`).
 */
export interface SearchTerm {
  readonly tokens: readonly string[];
  readonly prefix: boolean;
}

/** A parsed query: its terms (all must match) and the filters it named. */
export interface ParsedSearch {
  readonly terms: readonly SearchTerm[];
  /** `from:nick`: only messages this nick sent (ASCII letters compared without case). */
  readonly from?: string;
  /** `in:#room`, `with:nick` or `with:all`: only this conversation of the reader's. */
  readonly with?: string;
}

/** What a Store searches: a parsed query, a conversation, and the page's bounds. */
export interface SearchRequest extends ParsedSearch {
  /** Only messages with an id below this. */
  readonly before: EventId;
  /** Most results. */
  readonly limit: number;
}

/** Longest query, in UTF-16 units; a longer one is refused (400), never cut silently. */
export const MAX_SEARCH_QUERY = 512;
/** Most terms (words, phrases, prefixes) in one query. */
export const MAX_SEARCH_TERMS = 12;
/** Most tokens in one phrase (a CJK run of n characters is n − 1 tokens). */
export const MAX_PHRASE_TOKENS = 16;
/** Shortest prefix (`ab*`), in characters: a shorter one would match most of the index. */
export const MIN_PREFIX = 2;
/** Most results one page returns (API `limit`), and the default. */
export const MAX_SEARCH_PAGE = 100;
export const DEFAULT_SEARCH_PAGE = 20;
/** Longest filter value (`from:`, `in:`, `with:`), in UTF-16 units. */
const MAX_FILTER = 128;

function invalid(why: string): ChatError {
  return new ChatError('CHAT_SEARCH_INVALID', why);
}

/**
 * Parses a query: words, `"quoted phrases"`, a trailing `*` for a prefix (`pre*`, and
 * `"a phrase wi"*` for the phrase's last word), and the filters
 * `from:nick`, `in:#room` (or `in:room`) and `with:nick`. A chunk that splits into several
 * words (`e-mail`, a URL) is the phrase of them. Punctuation alone is no term. Throws
 * CHAT_SEARCH_INVALID (400) for a query too long, with no term, too many terms, a prefix
 * shorter than MIN_PREFIX, or two different values of one filter.
 */
export function parseSearch(q: string): ParsedSearch {
  if (q.length > MAX_SEARCH_QUERY) {
    throw invalid(`a query is at most ${MAX_SEARCH_QUERY} characters`);
  }
  const terms: SearchTerm[] = [];
  let from: string | undefined;
  let conversation: string | undefined;
  const set = (name: string, old: string | undefined, value: string): string => {
    if (value === '' || value.length > MAX_FILTER) throw invalid(`${name}: needs a value`);
    if (old !== undefined && old !== value) throw invalid(`${name}: is given twice`);
    return value;
  };
  // Quoted phrases, then the rest split on white space.
  const parts = q.split('"');
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      // `"a phrase"*`: its last word a prefix.
      addTerm(terms, part, parts[i + 1]?.startsWith('*') === true);
      return;
    }
    const rest = i > 0 ? part.replace(/^\*+/u, '') : part;
    for (const chunk of rest.split(/\s+/u)) {
      if (chunk === '') continue;
      const filter = /^(from|in|with):(.*)$/iu.exec(chunk);
      if (filter) {
        const name = filter[1]?.toLowerCase() ?? '';
        const value = filter[2] ?? '';
        if (name === 'from') from = set('from', from, value.replace(/^@/u, ''));
        else if (name === 'in') {
          conversation = set('in', conversation, value.startsWith('#') ? value : `#${value}`);
        } else conversation = set('with', conversation, value.replace(/^@/u, ''));
        continue;
      }
      const prefix = chunk.endsWith('*');
      addTerm(terms, prefix ? chunk.replace(/\*+$/u, '') : chunk, prefix);
    }
  });
  if (terms.length === 0) throw invalid('nothing to search for: give at least one word');
  if (terms.length > MAX_SEARCH_TERMS) throw invalid(`at most ${MAX_SEARCH_TERMS} terms`);
  return {
    terms,
    ...(from !== undefined && { from }),
    ...(conversation !== undefined && { with: conversation }),
  };
}

/** Adds the term `raw` makes, if it has any word in it. */
function addTerm(terms: SearchTerm[], raw: string, prefix: boolean): void {
  const tokens = segments(raw).flatMap(segmentTokens);
  if (tokens.length === 0) return;
  if (tokens.length > MAX_PHRASE_TOKENS)
    throw invalid(`a phrase is at most ${MAX_PHRASE_TOKENS} words`);
  const last = tokens[tokens.length - 1] ?? '';
  if (prefix && [...last].length < MIN_PREFIX) {
    throw invalid(`a prefix (word*) needs at least ${MIN_PREFIX} letters`);
  }
  terms.push({ tokens, prefix });
}

/** BM25's term-frequency saturation and length normalization, at its usual values. */
const BM25_K1 = 1.2;
const BM25_B = 0.75;
/** A chat message's typical length in tokens, BM25's "average document length". */
const TYPICAL_TOKENS = 12;

/**
 * How well `text` matches `terms` (larger is better; 0 for no match): BM25's weighing of how
 * often each term occurs, against the text's length, without the inverse document frequency
 * (every result holds every term, so it would only shift weight between the terms). It is
 * computed from the text itself, the same in every engine: FTS5's bm25() reads every match's
 * positions from the index, which cost ten times the search it ranked.
 */
export function relevance(text: string, terms: readonly SearchTerm[]): number {
  return relevanceOf(ranked(text), terms);
}

function relevanceOf(segs: readonly Segment[], terms: readonly SearchTerm[]): number {
  const tokens = segs.flatMap(segmentTokens);
  const scale = 1 - BM25_B + (BM25_B * tokens.length) / TYPICAL_TOKENS;
  let sum = 0;
  for (const term of terms) {
    const tf = occurrences(tokens, term);
    sum += (tf * (BM25_K1 + 1)) / (tf + BM25_K1 * scale);
  }
  return sum;
}

/** Whether every term occurs in `text` (what the index answers, read from the text). */
export function matchesAll(text: string, terms: readonly SearchTerm[]): boolean {
  const tokens = searchTokens(text);
  return terms.every((term) => occurrences(tokens, term) > 0);
}

/** How many times `term` occurs in `tokens` (a phrase: in a row; a prefix: its last token). */
function occurrences(tokens: readonly string[], term: SearchTerm): number {
  const want = term.tokens;
  const last = want.length - 1;
  let n = 0;
  for (let i = 0; i + want.length <= tokens.length; i++) {
    let k = 0;
    for (; k < want.length; k++) {
      const token = tokens[i + k] ?? '';
      const w = want[k] ?? '';
      if (!(token === w || (term.prefix && k === last && token.startsWith(w)))) break;
    }
    if (k === want.length) n++;
  }
  return n;
}

/**
 * A result's place in its page: relevance (larger is better) weighed down by age, halving
 * every RECENCY_HALF_LIFE_MS, so a strong match from last year does not bury a good one from
 * today.
 */
export const RECENCY_HALF_LIFE_MS = 30 * 24 * 60 * 60 * 1000;

/** The order of a page's hits: see RECENCY_HALF_LIFE_MS; ties newest first. */
export function score(relevance: number, ts: number, now: number): number {
  const age = Math.max(0, now - ts);
  return relevance * 0.5 ** (age / RECENCY_HALF_LIFE_MS);
}

/** Longest snippet, in UTF-16 units, before the marks and escapes are added. */
export const SNIPPET_LENGTH = 200;
/** How much text a snippet keeps before its first match, at most. */
const SNIPPET_LEAD = 60;

/**
 * The part of `text` around its first match, HTML-escaped, with each match in <mark></mark>.
 * The text is escaped first and the marks added after, so nothing in a message can become
 * markup. "…" stands where the text was cut.
 */
export function snippet(text: string, terms: readonly SearchTerm[]): string {
  return snippetOf(text, ranked(text), terms);
}

/**
 * How much of a text relevance and snippets read, in UTF-16 units: a match past it is found
 * but not marked, and does not add to the rank. A message is 2,000 characters by default
 * (--max-message-length), but may be set up to 100,000, and a page ranks up to 100 of them.
 */
export const RANKED_LENGTH = 4000;

/** The segments of the part of `text` that ranking reads (RANKED_LENGTH). */
function ranked(text: string): Segment[] {
  return segments(text.length > RANKED_LENGTH ? text.slice(0, safeCut(text, RANKED_LENGTH)) : text);
}

/** A search result's text made once into both its relevance and its snippet. */
export function rankText(
  text: string,
  terms: readonly SearchTerm[],
): { relevance: number; snippet: string } {
  const segs = ranked(text);
  return { relevance: relevanceOf(segs, terms), snippet: snippetOf(text, segs, terms) };
}

function snippetOf(text: string, segs: readonly Segment[], terms: readonly SearchTerm[]): string {
  const marks = matches(segs, terms);
  let start = 0;
  let end = text.length;
  if (text.length > SNIPPET_LENGTH) {
    const first = marks[0]?.[0] ?? 0;
    start = Math.max(0, first - SNIPPET_LEAD);
    // Start at a word's beginning when one is near.
    const space = text.lastIndexOf(' ', start);
    if (space >= 0 && start - space < 20) start = space + 1;
    end = Math.min(text.length, start + SNIPPET_LENGTH);
    start = safeCut(text, start);
    end = safeCut(text, end);
  }
  let out = start > 0 ? '…' : '';
  let at = start;
  for (const [from, to] of marks) {
    if (to <= at || from >= end) continue;
    const a = Math.max(from, at);
    const b = Math.min(to, end);
    out += `${escapeHtml(text.slice(at, a))}<mark>${escapeHtml(text.slice(a, b))}</mark>`;
    at = b;
  }
  out += escapeHtml(text.slice(at, end));
  return end < text.length ? `${out}…` : out;
}

/** An offset moved off the second half of a surrogate pair. */
function safeCut(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code >= 0xdc00 && code <= 0xdfff ? at - 1 : at;
}

/** The [start, end) ranges of the text that match a term's token, in order. */
function matches(segs: readonly Segment[], terms: readonly SearchTerm[]): Array<[number, number]> {
  const words = new Set<string>();
  const prefixes: string[] = [];
  const runs: string[] = [];
  for (const term of terms) {
    term.tokens.forEach((token, i) => {
      if (term.prefix && i === term.tokens.length - 1) prefixes.push(token);
      else words.add(token);
    });
    // An unspaced query's pairs join back into the run to look for.
    runs.push(joinPairs(term.tokens));
  }
  const ranges: Array<[number, number]> = [];
  for (const seg of segs) {
    if (seg.unspaced) ranges.push(...runMatches(seg, runs));
    else if (words.has(seg.folded) || prefixes.some((p) => seg.folded.startsWith(p))) {
      ranges.push([seg.start, seg.end]);
    }
  }
  ranges.sort((x, y) => x[0] - y[0]);
  return ranges;
}

/** The pairs 北京 京大 as the run 北京大; anything else as its tokens joined. */
function joinPairs(tokens: readonly string[]): string {
  let out = tokens[0] ?? '';
  for (const t of tokens.slice(1)) {
    const chars = [...t];
    out += chars.length === 2 && out.endsWith(chars[0] ?? '') ? chars[1] : t;
  }
  return out;
}

/**
 * Most matches of one query run marked in one unspaced run: a snippet shows SNIPPET_LENGTH
 * characters, so more marks than that could never show, and a text of one repeated pair
 * would otherwise make thousands.
 */
const MAX_RUN_MARKS = SNIPPET_LENGTH;

/** Where an unspaced run holds one of `runs` (folded), as ranges of the original text. */
function runMatches(seg: Segment, runs: readonly string[]): Array<[number, number]> {
  const chars = seg.chars ?? [];
  // Where each character's folded form starts in seg.folded, and which character that is.
  const charAt = new Map<number, number>();
  let offset = 0;
  chars.forEach((c, k) => {
    charAt.set(offset, k);
    offset += c.folded.length;
  });
  const out: Array<[number, number]> = [];
  for (const run of runs) {
    if (run === '') continue;
    let found = 0;
    for (
      let i = seg.folded.indexOf(run);
      i >= 0 && found < MAX_RUN_MARKS;
      i = seg.folded.indexOf(run, i + 1)
    ) {
      const first = charAt.get(i);
      const after = charAt.get(i + run.length);
      // A match must begin and end on characters, not inside one's folded form.
      if (first === undefined || (after === undefined && i + run.length !== offset)) continue;
      const end = after === undefined ? seg.end : (chars[after]?.at ?? seg.end);
      out.push([chars[first]?.at ?? seg.start, end]);
      found++;
    }
  }
  return out;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `s` with the five characters that mean something in HTML escaped. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/gu, (c) => HTML_ESCAPES[c] ?? c);
}
