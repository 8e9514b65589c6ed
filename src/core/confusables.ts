import { CONFUSABLES } from './confusables-data.js';
import { EVERYONE } from './events.js';

// Confusable detection for nicks (Unicode UTS #39, section 4, "Confusable Detection").
//
// internalSkeleton(X) is UTS #39's, as of Unicode 15.1: NFD, remove Default_Ignorable_Code_Point
// characters, map each character to its prototype in confusables.txt, NFD again. Since Unicode
// 16 the standard's skeleton(X) is bidiSkeleton(LTR, X), which first puts the string in the
// visual order the Unicode Bidirectional Algorithm gives it in a left-to-right paragraph. For
// a nick without right-to-left characters the two are the same; for one with them we use the
// logical order, so that a nick whose look depends on reordering (say Hebrew letters beside
// digits) can escape detection. We accept that gap rather than carry an implementation of the
// bidi algorithm.
//
// Nicks are unique regardless of letter case, so look-alikes must be found regardless of case
// too: "АLICE" (Cyrillic А) must collide with "alice". The key folds case first, as the issue
// asks (skeleton of the case-folded NFKC form), so that every case variant of a nick has the
// same key and the key can back a unique index:
//
//   nickKey(x) = internalSkeleton(fold(internalSkeleton(fold(NFKC(x)))))
//
// NFKC folds compatibility forms (fullwidth, ligatures, superscripts) the table may lack. The
// second fold and skeleton handle prototypes that are capitals: the digit 0 maps to O, which
// folds to o, so "b0b" meets "bob".
//
// What folding first gives up: a look-alike that exists only between a capital and another
// letter. Capital I looks like small l, so "AIice" looks like "Alice"; but I is the same
// letter as i, and joining i with l would make "ali" collide with "all". An equivalence (a
// key) cannot have both, so these pass. For the reserved `all` there is no index, and
// looksLikeEveryone also compares the skeleton taken before folding, which catches "AII".
// Applying the mapping twice can only join more strings, never separate two that one
// application joins.

/**
 * Bump when the data (confusables-data.ts) or nickKey changes: every store then recomputes
 * the key of each account at startup (the stored key is only comparable with keys made the
 * same way).
 */
export const NICK_KEY_VERSION = 1;

/** Code point → its prototype string, built on first use (about 6,500 entries). */
let table: Map<number, string> | undefined;

function prototypes(): Map<number, string> {
  if (table) return table;
  table = new Map();
  for (const entry of CONFUSABLES.split(/\s+/)) {
    if (entry === '') continue;
    const [from, to] = entry.split('=') as [string, string];
    const target = String.fromCodePoint(...to.split('.').map((hex) => Number.parseInt(hex, 16)));
    table.set(Number.parseInt(from, 16), target);
  }
  return table;
}

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/** UTS #39 internalSkeleton (see above): what two look-alike strings have in common. */
export function internalSkeleton(s: string): string {
  const map = prototypes();
  let out = '';
  for (const ch of s.normalize('NFD').replace(IGNORABLE, '')) {
    out += map.get(ch.codePointAt(0) as number) ?? ch;
  }
  return out.normalize('NFD');
}

/**
 * Unicode full case folding, approximated with what JavaScript has: lower, upper, lower. It
 * joins everything full folding joins (ß, ẞ and ss; ς and σ; Cherokee small and capital
 * letters: checked against every C and F mapping of CaseFolding.txt 17.0), and a few more
 * (dotless ı with i), which for a collision check errs on the safe side.
 */
function fold(s: string): string {
  return s.toLowerCase().toUpperCase().toLowerCase();
}

/**
 * The look-alike key of a nick: two nicks that look alike (UTS #39 confusables, in any letter
 * case, with compatibility forms and invisible characters ignored) have the same key. Not for
 * display: "m" and "rn" share the key "rn".
 */
export function nickKey(nick: string): string {
  return internalSkeleton(fold(internalSkeleton(fold(nick.normalize('NFKC')))));
}

/**
 * True when `nick` looks like `all`, the broadcast address, in any case or look-alike form
 * ("ａｌｌ", "a11", "AII"): such a nick could pose as the address of everyone.
 */
export function looksLikeEveryone(nick: string): boolean {
  let answer = recent.get(nick);
  if (answer === undefined) {
    const everyone = nickKey(EVERYONE);
    // Capitals first, then folded: catches capital look-alikes such as I for l (see above).
    answer =
      nickKey(nick) === everyone ||
      internalSkeleton(fold(internalSkeleton(nick.normalize('NFKC')))) === everyone;
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(nick, answer);
  }
  return answer;
}

/**
 * Open mode checks every nick of every request (parseNick), and the check costs about 5 µs,
 * a tenth of a send; the same few nicks come back all the time. Bounded: when full it starts
 * over, so that a stream of new nicks costs no more than the check itself.
 */
const RECENT_MAX = 4096;
const recent = new Map<string, boolean>();
