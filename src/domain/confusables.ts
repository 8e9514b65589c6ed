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
// too: "АLICE" (Cyrillic А) must collide with "alice". The key folds case, as the issue asks
// (skeleton of the case-folded NFKC form), so that case variants share a key and the key can
// back a unique index. But folding first loses capitals: the table maps Cyrillic В, Greek Β
// and Cherokee Ᏼ to B, and not their small forms (в, β, ᏼ), so "ΒΟΒ" folded to "βοβ" no
// longer meets "bob". Hence a first step on the unfolded string, capitals():
//
//   nickKey(x) = internalSkeleton(fold(internalSkeleton(fold(capitals(NFKC(x))))))
//
// capitals() replaces each non-ASCII capital whose prototype is ASCII (В → B, Η → H, Ꮇ → M)
// by that prototype; ASCII is left alone (the rest of the key handles it, see below), and so
// are capitals whose prototype is not ASCII (Л → ʌ), whose small forms fold with them as
// before. A capital whose prototype is l (Greek Ι, Cyrillic І) becomes I, since the key takes
// Latin I for i (below): "ΚΙΜ" meets "KIM", and "Іan" meets "Ian", not "lan". This also
// covers Cherokee, whose capitals are the letters the table maps and which CaseFolding.txt
// folds to capitals, while fold() below folds them to small letters.
//
// The price of one key for both: where a capital looks like a Latin letter its small form
// does not (Cyrillic Т and т, Greek Η and η), the two forms have different keys, so "ТАНЯ"
// and "таня" are two nicks (each still meets its own look-alikes). A key (an equivalence)
// that joined them would also join т with t, "таня" with "tahя". The forms of other letters,
// and every ASCII case variant (which the stores also refuse by the nick itself), still meet.
//
// NFKC folds compatibility forms (fullwidth, ligatures, superscripts) the table may lack. The
// second fold and skeleton handle prototypes that are capitals: the digit 0 maps to O, which
// folds to o, so "b0b" meets "bob".
//
// What folding gives up: a look-alike that exists only between a capital and another letter.
// Capital I looks like small l, so "AIice" looks like "Alice"; but I is the same letter as i,
// and joining i with l would make "ali" collide with "all" (and "Ian" with "lan"). An
// equivalence (a key) cannot have both, so these pass. For the reserved `all` there is no
// index, and looksLikeEveryone also compares the unfolded skeleton with those of "all", "All"
// and "ALL", which catches "AII" but lets "ALI" be. Applying the mapping twice can only join
// more strings, never separate two that one application joins.

/**
 * Bump when the data (confusables-data.ts) or nickKey changes: every store then recomputes
 * the key of each account at startup (the stored key is only comparable with keys made the
 * same way).
 */
export const NICK_KEY_VERSION = 2;

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
 * Non-ASCII capitals whose prototype is ASCII, replaced by it (see above): code point → the
 * prototype, with I for l. Built on first use.
 */
let capitalTable: Map<number, string> | undefined;

function capitalPrototypes(): Map<number, string> {
  if (capitalTable) return capitalTable;
  capitalTable = new Map();
  for (const [cp, target] of prototypes()) {
    if (cp < 0x80 || !/^[\x21-\x7E]+$/.test(target)) continue;
    const ch = String.fromCodePoint(cp);
    if (ch.toLowerCase() === ch) continue; // not a capital (nor a title-case letter)
    capitalTable.set(cp, target === 'l' ? 'I' : target);
  }
  return capitalTable;
}

// Printable ASCII: nicks have no control characters (input.ts), and any other string just
// takes the long way.
const ASCII_ONLY = /^[ -~]*$/;

/** The first step of nickKey (see above): non-ASCII capitals with an ASCII look-alike become it. */
function capitals(s: string): string {
  // Most nicks are ASCII, which this step leaves alone: skip the NFD and the walk.
  if (ASCII_ONLY.test(s)) return s;
  const map = capitalPrototypes();
  let out = '';
  for (const ch of s.normalize('NFD')) {
    out += ch.length === 1 && ch < '\x80' ? ch : (map.get(ch.codePointAt(0) as number) ?? ch);
  }
  return out;
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
  return internalSkeleton(fold(internalSkeleton(fold(capitals(nick.normalize('NFKC'))))));
}

/**
 * True when `nick` looks like `all`, the broadcast address, in any case or look-alike form
 * ("ａｌｌ", "a11", "AII"): such a nick could pose as the address of everyone.
 */
export function looksLikeEveryone(nick: string): boolean {
  let answer = recent.get(nick);
  if (answer === undefined) {
    // Unfolded, against the ways people write all: catches I for l ("AII", "ΑΙΙ", "aⅠⅠ") but
    // not "ALI", whose skeleton "ALl" none of them has (see above).
    answer =
      nickKey(nick) === everyoneForms().key ||
      everyoneForms().shapes.has(internalSkeleton(nick.normalize('NFKC')));
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(nick, answer);
  }
  return answer;
}

/** The key and the unfolded skeletons of `all` (see looksLikeEveryone), made on first use. */
let everyone: { readonly key: string; readonly shapes: ReadonlySet<string> } | undefined;

function everyoneForms(): { readonly key: string; readonly shapes: ReadonlySet<string> } {
  // As people write it: small, capitalized, capitals; not mixed forms like "ALl", whose
  // skeleton is that of "ALI" (mixed-case `all` is reserved by parseNick anyway).
  const capitalized = EVERYONE.charAt(0).toUpperCase() + EVERYONE.slice(1);
  everyone ??= {
    key: nickKey(EVERYONE),
    shapes: new Set([EVERYONE, capitalized, EVERYONE.toUpperCase()].map(internalSkeleton)),
  };
  return everyone;
}

/**
 * Open mode checks every nick of every request (parseNick), and the check costs about 5 µs,
 * a tenth of a send; the same few nicks come back all the time. Bounded: when full it starts
 * over, so that a stream of new nicks costs no more than the check itself.
 */
const RECENT_MAX = 4096;
const recent = new Map<string, boolean>();
