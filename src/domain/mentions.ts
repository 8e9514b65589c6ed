// Mentions: which `@nick`s a text names. The Store resolves them against who can see the
// message, in the append's transaction (store/sqlite/append.ts, store/postgres/mentions.ts);
// this file only reads text, so both engines find the same candidates.
import { ChatError } from './errors.js';
import { parseNick } from './input.js';

/**
 * Most distinct candidates (by folded spelling) one text yields: a text of 10,000 `@a @b …`
 * costs the Store at most this many lookups.
 */
export const MAX_MENTIONS = 50;

/**
 * Longest candidate, in code points: the upper bound of --max-nick-length (config-options.ts),
 * so no nick any server accepts is longer; a longer run names nobody.
 */
export const MAX_MENTION_LENGTH = 64;

// An `@` that does not follow a letter, digit, mark or `_` (so `ann@example.org` is no
// mention), then a run of what a nick may hold (input.ts, NICK_FORBIDDEN) other than `@`.
const MENTION = /(?<![\p{L}\p{N}\p{M}_])@([^\s\p{C}\p{Z}/?#%+:,<>"'&`\\@]+)/gu;

// Punctuation that ends a sentence or a bracket rather than a nick: `@bob.` also tries `bob`;
// and the page's formatting marks (web/markdown.js), so `**@bob**` and `_@bob_` also try
// `bob`. Each is one UTF-16 unit.
const TRAILING = new Set(['.', '!', '?', ';', ')', ']', '}', "'", '"', '\u2026', '*', '_', '~']);

/** One `@` run: its spellings to try, longest first, as folded keys (foldNick). */
export type MentionRun = readonly string[];

/** What a text mentions, before the Store resolves it. */
export interface MentionCandidates {
  /** Distinct spellings as written (NFC), in order of first mention, longest of a run first. */
  readonly spellings: readonly string[];
  /** foldNick of each of `spellings`, in the same order. */
  readonly keys: readonly string[];
  /** The runs, in order, each its keys longest first: a run mentions at most one user. */
  readonly runs: readonly MentionRun[];
}

const NONE: MentionCandidates = Object.freeze({ spellings: [], keys: [], runs: [] });

/**
 * ASCII lowercase: nicks compare case-insensitively in ASCII only (the AccountStore rule, and
 * SQLite's lower() and PostgreSQL's lower(… COLLATE "C")), so "Bob" is "bob", "Jöhn" is not
 * "jöhn".
 */
export function foldNick(nick: string): string {
  return nick.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/**
 * The candidates of `text` (see the shared spec): every `@` at the start or after a character
 * that is not a letter, digit or `_`, followed by nick characters; a run ending in sentence
 * punctuation also yields the run without it (without all of it: `@bob!)` yields `bob`). A
 * run of punctuation only is a candidate only as a whole (`.` is a valid nick). At most
 * MAX_MENTIONS distinct keys; a spelling longer than MAX_MENTION_LENGTH is none.
 */
export function findMentions(text: string): MentionCandidates {
  // The hot path: most texts hold no `@`, and cost this one scan.
  if (!text.includes('@')) return NONE;
  const spellings: string[] = [];
  const keys: string[] = [];
  const seen = new Set<string>();
  const runs: string[][] = [];
  for (const match of text.matchAll(MENTION)) {
    if (seen.size >= MAX_MENTIONS) break;
    const run: string[] = [];
    const whole = (match[1] as string).normalize('NFC');
    // The run, then the run without all its trailing punctuation: `@bob!)` tries `bob!)`,
    // then `bob`. By index, so a run of 10,000 dots costs one pass and yields nothing.
    let end = whole.length;
    while (end > 0 && TRAILING.has(whole.charAt(end - 1))) end--;
    for (const cut of end === whole.length || end === 0 ? [whole.length] : [whole.length, end]) {
      // More UTF-16 units than twice the limit is more code points than the limit.
      if (cut > 2 * MAX_MENTION_LENGTH) continue;
      const spelling = whole.slice(0, cut);
      if (codePoints(spelling) > MAX_MENTION_LENGTH) continue;
      const key = foldNick(spelling);
      run.push(key);
      if (!seen.has(key)) {
        seen.add(key);
        spellings.push(spelling);
        keys.push(key);
        if (seen.size >= MAX_MENTIONS) break;
      }
    }
    if (run.length > 0) runs.push(run);
  }
  return { spellings, keys, runs };
}

/** The distinct candidate spellings of `text`, in order (findMentions). */
export function mentionCandidates(text: string): string[] {
  return [...findMentions(text).spellings];
}

/**
 * Picks who `found` mentions, given `resolve`, which maps a folded key to the nicks it names
 * among those who can see the message (none: undefined or empty). Each run names the users
 * of its longest spelling that resolves (`@bob.` is `bob.` when both `bob.` and `bob` exist);
 * `sender` never mentions themselves. Distinct nicks, in order of first mention.
 */
export function pickMentions(
  found: MentionCandidates,
  resolve: (key: string) => readonly string[] | undefined,
  sender: string,
): string[] {
  const picked: string[] = [];
  for (const run of found.runs) {
    for (const key of run) {
      const nicks = resolve(key);
      if (nicks === undefined || nicks.length === 0) continue;
      for (const nick of nicks) {
        if (nick !== sender && !picked.includes(nick)) picked.push(nick);
      }
      break;
    }
  }
  return picked;
}

/**
 * Whether `spelling` could be someone's nick where nobody owns one (open mode): the rules of
 * a nick being taken (parseNick) at the longest length any server allows.
 */
export function isClaimableNick(spelling: string): boolean {
  try {
    return (
      parseNick(spelling, { maxNickLength: MAX_MENTION_LENGTH, maxMessageLength: 1 }) === spelling
    );
  } catch (err) {
    if (err instanceof ChatError) return false;
    throw err;
  }
}

/**
 * Who a broadcast mentions in open mode, where there is no list of users: each run names its
 * spelling without trailing punctuation when that is a nick (`@bob.` is `bob`: where anyone
 * may claim any nick, the sentence's full stop is the likelier reading), else the longest
 * that is. Spelled as written.
 */
export function claimedMentions(found: MentionCandidates, sender: string): string[] {
  const byKey = new Map<string, string>();
  found.keys.forEach((key, i) => {
    byKey.set(key, found.spellings[i] as string);
  });
  const picked: string[] = [];
  for (const run of found.runs) {
    for (let i = run.length - 1; i >= 0; i--) {
      const spelling = byKey.get(run[i] as string);
      if (spelling === undefined || !isClaimableNick(spelling)) continue;
      if (spelling !== sender && !picked.includes(spelling)) picked.push(spelling);
      break;
    }
  }
  return picked;
}

/** The code points of `s`. */
function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
