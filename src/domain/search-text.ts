// How text becomes search tokens: the one tokenizer both Store engines index with, so that
// SQLite's FTS5 and PostgreSQL's tsvector hold the same tokens and a query finds the same
// messages in each. The engines get the tokens ready-made (FTS5 splits them on the single
// spaces between them; PostgreSQL reads them as a tsvector literal), so neither engine's
// own parsing (its locale, its idea of a word, of a URL or of a number) ever differs.

/**
 * Scripts written without spaces between words. A run of their characters is indexed as
 * overlapping pairs of characters (bigrams, as Lucene's CJK analyzer does): "北京大学" is
 * 北京 京大 大学, and a query of two or more of them is the phrase of its pairs, so any
 * substring of two characters or more is found. A lone character is indexed as itself.
 * The prolonged sound mark and the iteration marks are Common script but live in these runs.
 */
const UNSPACED =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\u30fc\u3005\u309d\u309e\u30fd\u30fe]/u;

/** A word: letters, digits and combining marks. Everything else separates words. */
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** Accents that fold away (after NFKD): the combining diacritical marks, é → e, ø stays. */
const DIACRITICS = /[\u0300-\u036f]/g;

/** What NFKD may bring into a word that is not part of one (㈠ is "(一)"): dropped. */
const NOT_WORD = /[^\p{L}\p{N}\p{M}]/gu;

/**
 * Longest token kept, in UTF-16 units: a longer "word" (a hash, a run of one letter) is cut
 * there, in the document and in the query alike, so both still match. PostgreSQL refuses
 * lexemes past 2 KiB; this keeps far below it.
 */
export const MAX_TOKEN_LENGTH = 64;

/** A word or a run of unspaced script found in a text, with where it is. */
export interface Segment {
  /** Offsets in the original text, in UTF-16 units: [start, end). */
  readonly start: number;
  readonly end: number;
  /** Whether it is a run of a script written without spaces (see UNSPACED). */
  readonly unspaced: boolean;
  /** Its folded form (see fold); for an unspaced run, one folded string per character. */
  readonly folded: string;
  /** For an unspaced run: each character's folded form and its offset in the text. */
  readonly chars?: ReadonlyArray<{ readonly folded: string; readonly at: number }>;
}

/** Case, width and accents folded away: what the index holds and what a query compares. */
export function fold(word: string): string {
  const folded = word.normalize('NFKD').replace(DIACRITICS, '').toLowerCase().normalize('NFC');
  const clean = folded.replace(NOT_WORD, '');
  return clean.length > MAX_TOKEN_LENGTH ? cutAt(clean, MAX_TOKEN_LENGTH) : clean;
}

/** `s` cut to at most `n` UTF-16 units, never inside a surrogate pair. */
function cutAt(s: string, n: number): string {
  const code = s.charCodeAt(n - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

/** A run of characters of scripts written without spaces (UNSPACED), for splitting words. */
const UNSPACED_RUN = new RegExp(`(${UNSPACED.source}+)`, 'u');

/** The words and unspaced runs of `text`, in order. */
export function segments(text: string): Segment[] {
  const out: Segment[] = [];
  for (const match of text.matchAll(WORD)) {
    const word = match[0];
    let at = match.index ?? 0;
    // Split the word where it passes between spaced and unspaced script: the odd parts of
    // the split are the unspaced runs.
    for (const [i, part] of word.split(UNSPACED_RUN).entries()) {
      if (part !== '') out.push(segment(part, at, i % 2 === 1));
      at += part.length;
    }
  }
  return out;
}

/**
 * Folded characters of unspaced runs, cached: a run is folded a character at a time (its
 * offsets are kept for snippets), and fold's normalizations cost microseconds each, which a
 * text of thousands of CJK characters multiplies. Bounded: emptied when full.
 */
const CHAR_FOLDS = new Map<string, string>();
const MAX_CHAR_FOLDS = 8192;

function foldChar(ch: string): string {
  let folded = CHAR_FOLDS.get(ch);
  if (folded === undefined) {
    if (CHAR_FOLDS.size >= MAX_CHAR_FOLDS) CHAR_FOLDS.clear();
    folded = fold(ch);
    CHAR_FOLDS.set(ch, folded);
  }
  return folded;
}

function segment(word: string, start: number, unspaced: boolean): Segment {
  const end = start + word.length;
  if (!unspaced) return { start, end, unspaced, folded: fold(word) };
  const chars: Array<{ folded: string; at: number }> = [];
  let at = start;
  for (const ch of word) {
    const folded = foldChar(ch);
    // A combining mark folds to nothing; it belongs to the character before it.
    if (folded !== '') chars.push({ folded, at });
    at += ch.length;
  }
  return { start, end, unspaced, folded: chars.map((c) => c.folded).join(''), chars };
}

/** The index tokens of one segment: the folded word, or an unspaced run's pairs. */
export function segmentTokens(seg: Segment): string[] {
  if (!seg.unspaced) return seg.folded === '' ? [] : [seg.folded];
  const chars = seg.chars ?? [];
  if (chars.length === 1) return [chars[0]?.folded ?? ''];
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) {
    out.push(`${chars[i]?.folded}${chars[i + 1]?.folded}`);
  }
  return out;
}

/**
 * Most tokens indexed per message. A message is bounded in length (config
 * maxMessageLength), but a text of one-letter words would still make thousands; PostgreSQL
 * numbers positions up to 16383. Words past this are not found.
 */
export const MAX_DOCUMENT_TOKENS = 4096;

/** The tokens of `text` that the index holds, in order; empty for a text without words. */
export function searchTokens(text: string): string[] {
  const out: string[] = [];
  for (const seg of segments(text)) {
    for (const token of segmentTokens(seg)) {
      if (out.length >= MAX_DOCUMENT_TOKENS) return out;
      out.push(token);
    }
  }
  return out;
}

/**
 * The audience tokens of a message, indexed beside its words (in a column or weight of their
 * own) so that a search reads, from the index itself, only the conversations its reader is
 * in: `a` on a broadcast, `d` on a direct message (and a note to self), `r…` naming a room,
 * `s…` its sender and `t…` a direct message's recipient. Names are hex of their UTF-8 bytes
 * with ASCII letters folded (tokens hold letters and digits only; nicks compare without
 * ASCII case in filters). The Store's search query states who sees what with them, and
 * checks it once more against the rows (store.ts, Search).
 */
export function audienceTokens(from: string, to: string, withheld = false): string[] {
  if (to === 'all') return ['a', senderToken(from)];
  if (to.startsWith('#')) return [roomToken(to), senderToken(from)];
  const tokens = ['d', senderToken(from), recipientToken(to)];
  if (withheld) tokens.push(WITHHELD_TOKEN);
  return tokens;
}

/**
 * The audience token of a direct message withheld from its recipient (blocks-store.ts): the
 * recipient's arm of a search excludes it, so it never fills nor ends their page.
 */
export const WITHHELD_TOKEN = 'h';

/** The audience token of a room (see audienceTokens). */
export function roomToken(room: string): string {
  return `r${hexName(room)}`;
}

/** The audience token of a message's sender (see audienceTokens). */
export function senderToken(nick: string): string {
  return `s${hexName(nick)}`;
}

/** The audience token of a direct message's recipient (see audienceTokens). */
export function recipientToken(nick: string): string {
  return `t${hexName(nick)}`;
}

/**
 * Names hexName remembers: every indexed message names its sender and most a recipient or a
 * room, so the same few names come back on the send path. Bounded; cleared when full.
 */
const HEX_CACHE_SIZE = 4096;
const hexCache = new Map<string, string>();

const UTF8 = new TextEncoder();

function hexName(name: string): string {
  const known = hexCache.get(name);
  if (known !== undefined) return known;
  const bytes = UTF8.encode(name.replace(/[A-Z]/g, (c) => c.toLowerCase()));
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  if (hexCache.size >= HEX_CACHE_SIZE) hexCache.clear();
  hexCache.set(name, out);
  return out;
}
