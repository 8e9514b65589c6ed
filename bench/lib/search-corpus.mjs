// bench/lib/search-corpus.mjs -- the message log bench/search.mjs searches, and writing it
// straight into a database. The log: `messages` messages of `users` users (user0 … userN-1):
// broadcasts, direct messages between random pairs and messages to three rooms, in id and
// time order, their words drawn from a Zipf vocabulary, all from one seed, so that both
// engines (and every run) get the same log. One word is planted: RARE, in RARE_SEEN
// broadcasts (the oldest message of the log among them) and in RARE_UNSEEN messages the
// searcher (SEARCHER, user0) may not see.
//
// The database is made as the ssechat before the search index left it: the build at the
// commit before the index (bench/lib/builds.mjs) opens it, which migrates it to that
// version, and creates the rooms through its own Store (rows, members and spans as its rules
// write them); then the messages are inserted directly, in large transactions (a million
// sends over HTTP would take many minutes and measure the send path instead). Only plain
// messages are inserted (no mentions, attachments or mailbox rows), each room's by its
// members, all after the joins, so every row is one the Store could have written.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT } from './process.mjs';

/** The user whose searches are measured: a member of two of the three rooms. */
export const SEARCHER = 'user0';
/** The planted rare word: the syllables of the vocabulary never spell it. */
export const RARE = 'quizzacious';
/** Messages with RARE the searcher sees (broadcasts, the oldest message of the log first). */
export const RARE_SEEN = 30;
/** Messages with RARE the searcher does not see (other people's DMs, a room they are not in). */
export const RARE_UNSEEN = 15;
/** Share of messages that are broadcasts, DMs and room messages (the rest). */
const BROADCAST_SHARE = 0.55;
const DM_SHARE = 0.4;
/** Distinct words, and the Zipf exponent of their frequencies (about 1 in natural text). */
const VOCABULARY = 50_000;
const ZIPF_S = 1.0;
/** Mean words per message (exponentially distributed, at most MAX_WORDS). */
const MEAN_WORDS = 9;
const MAX_WORDS = 60;
/** Milliseconds between two messages' ts: a million messages span about a year. */
const TS_STEP_MS = 30_000;
/** Members per room, besides the searcher where they are one. */
const ROOM_MEMBERS = 50;

/** A seeded PRNG (mulberry32): uniform floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ONSETS = 'b c d f g h j k l m n p r s t v w z ch sh th br st tr pl gr'.split(' ');
const VOWELS = 'a e i o u ai ou ee oa'.split(' ');
const CODAS = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'ck', 'nd'];

/** VOCABULARY distinct pronounceable words, the frequent ones shorter, as in real text. */
function vocabulary(rng) {
  const words = [];
  const seen = new Set([RARE]);
  const pick = (list) => list[Math.floor(rng() * list.length)];
  while (words.length < VOCABULARY) {
    const rank = words.length;
    const max = rank < 100 ? 2 : rank < 5000 ? 3 : 4;
    const syllables = 1 + Math.floor(rng() * max);
    let w = '';
    for (let i = 0; i < syllables; i++) w += pick(ONSETS) + pick(VOWELS);
    w += pick(CODAS);
    if (w.length < 2 || seen.has(w)) continue;
    seen.add(w);
    words.push(w);
  }
  return words;
}

/** The rooms: name, history mode, and whether the searcher is a member. */
export const ROOMS = [
  { name: '#lobby', history: 'joined', searcher: true },
  { name: '#archive', history: 'all', searcher: true },
  { name: '#elsewhere', history: 'joined', searcher: false },
];

/**
 * The log, generated on demand batch by batch (never all in memory): `batches(n)` yields
 * column arrays `{ ts, from, to, text }`. While it runs it counts, per word, the messages that
 * contain it (`df`) and those of them the searcher sees (`seenDf`), so that the queries can be
 * chosen afterwards (`queries()`).
 */
export class Corpus {
  constructor({ messages, users, seed = 1 }) {
    if (messages < RARE_SEEN + RARE_UNSEEN + 10) throw new Error('too few messages');
    this.messages = messages;
    this.users = users;
    this.seed = seed;
    const rng = mulberry32(seed);
    this.words = vocabulary(rng);
    // Zipf: P(rank r) ∝ 1 / r^s; sampled from the cumulative sums by binary search.
    this.cdf = new Float64Array(VOCABULARY);
    let sum = 0;
    for (let r = 0; r < VOCABULARY; r++) {
      sum += 1 / (r + 1) ** ZIPF_S;
      this.cdf[r] = sum;
    }
    for (let r = 0; r < VOCABULARY; r++) this.cdf[r] /= sum;
    this.rooms = ROOMS.map((room) => {
      const members = new Set(room.searcher ? [SEARCHER] : []);
      while (members.size < ROOM_MEMBERS + (room.searcher ? 1 : 0)) {
        const u = `user${1 + Math.floor(rng() * (users - 1))}`;
        members.add(u);
      }
      return { ...room, members: [...members] };
    });
    // Where RARE goes: message 0 (the oldest) and RARE_SEEN - 1 more broadcasts; RARE_UNSEEN
    // messages the searcher may not see.
    this.plant = new Map([[0, 'seen']]);
    while (this.plant.size < RARE_SEEN + RARE_UNSEEN) {
      const at = 1 + Math.floor(rng() * (messages - 1));
      if (!this.plant.has(at)) this.plant.set(at, this.plant.size < RARE_SEEN ? 'seen' : 'unseen');
    }
    this.df = new Uint32Array(VOCABULARY);
    this.seenDf = new Uint32Array(VOCABULARY);
    this.rareSeen = 0;
    this.rareAll = 0;
    this.textBytes = 0;
    this.kinds = { broadcast: 0, dm: 0, room: 0 };
  }

  /** A word rank by the Zipf law. */
  rank(u) {
    let lo = 0;
    let hi = VOCABULARY - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Yields the log in batches of `size` rows, oldest first, starting at `startTs`. */
  *batches(size, startTs = Date.now() - this.messages * TS_STEP_MS) {
    const rng = mulberry32(this.seed + 1);
    const last = new Int32Array(VOCABULARY).fill(-1);
    const user = () => `user${Math.floor(rng() * this.users)}`;
    const other = () => `user${1 + Math.floor(rng() * (this.users - 1))}`;
    for (let start = 0; start < this.messages; start += size) {
      const n = Math.min(size, this.messages - start);
      const b = { ts: new Array(n), from: new Array(n), to: new Array(n), text: new Array(n) };
      for (let j = 0; j < n; j++) {
        const i = start + j;
        const planted = this.plant.get(i);
        let from;
        let to;
        let seen;
        const k = rng();
        if (planted === 'seen' || (planted === undefined && k < BROADCAST_SHARE)) {
          from = user();
          to = 'all';
          seen = true;
          this.kinds.broadcast++;
        } else if (planted === 'unseen' && k < 0.8) {
          // A DM between two others (the searcher is user0: other() never draws it).
          from = other();
          do to = other();
          while (to === from);
          seen = false;
          this.kinds.dm++;
        } else if (planted === 'unseen') {
          const room = this.rooms.find((r) => !r.searcher);
          from = room.members[Math.floor(rng() * room.members.length)];
          to = room.name;
          seen = false;
          this.kinds.room++;
        } else if (k < BROADCAST_SHARE + DM_SHARE) {
          from = user();
          do to = user();
          while (to === from);
          seen = from === SEARCHER || to === SEARCHER;
          this.kinds.dm++;
        } else {
          const room = this.rooms[Math.floor(rng() * this.rooms.length)];
          from = room.members[Math.floor(rng() * room.members.length)];
          to = room.name;
          seen = room.searcher;
          this.kinds.room++;
        }
        const count = Math.min(MAX_WORDS, 1 + Math.floor(-Math.log(1 - rng()) * (MEAN_WORDS - 1)));
        const parts = new Array(count);
        for (let w = 0; w < count; w++) {
          const r = this.rank(rng());
          parts[w] = this.words[r];
          if (last[r] !== i) {
            last[r] = i;
            this.df[r]++;
            if (seen) this.seenDf[r]++;
          }
        }
        if (planted) {
          parts.splice(Math.floor(rng() * (count + 1)), 0, RARE);
          this.rareAll++;
          if (seen) this.rareSeen++;
        }
        // Some capitals and punctuation, as people type: the tokenizer must see past them.
        if (rng() < 0.5) parts[0] = parts[0][0].toUpperCase() + parts[0].slice(1);
        if (count > 4 && rng() < 0.3) parts[2] += ',';
        const end = rng();
        const text = parts.join(' ') + (end < 0.4 ? '' : end < 0.8 ? '.' : end < 0.9 ? '?' : '!');
        this.textBytes += text.length;
        b.ts[j] = startTs + i * TS_STEP_MS;
        b.from[j] = from;
        b.to[j] = to;
        b.text[j] = text;
      }
      yield b;
    }
  }

  /**
   * The queries measured, chosen from the counts once the log was generated: `common`, the
   * word in the share `commonShare` of messages (closest to it), `rare` (RARE), `prefix` (the
   * first three letters and `*` of the most frequent word of five letters or more, as someone
   * types before the word is whole) and `two` (the common word and the next most frequent
   * word under it: both must match). Each with how many messages match (`matches`,
   * any reader) and how many of those the searcher sees (`seen`); a prefix's and two words'
   * counts are not known (null).
   */
  queries(commonShare = 0.2) {
    let best = 0;
    for (let r = 1; r < 1000; r++) {
      const d = Math.abs(this.df[r] / this.messages - commonShare);
      if (d < Math.abs(this.df[best] / this.messages - commonShare)) best = r;
    }
    const common = this.words[best];
    const second = this.words[best + 1];
    const long = this.words.find((w) => w.length >= 5);
    return {
      common: { q: common, matches: this.df[best], seen: this.seenDf[best] },
      rare: { q: RARE, matches: this.rareAll, seen: this.rareSeen },
      prefix: { q: `${long.slice(0, 3)}*`, matches: null, seen: null },
      two: { q: `${common} ${second}`, matches: null, seen: null },
    };
  }

  /** What the log holds, for the report. */
  summary() {
    return {
      messages: this.messages,
      users: this.users,
      seed: this.seed,
      kinds: this.kinds,
      mean_text_chars: Math.round(this.textBytes / this.messages),
      rooms: this.rooms.map((r) => ({
        name: r.name,
        history: r.history,
        members: r.members.length,
      })),
      searcher: SEARCHER,
    };
  }
}

/**
 * Creates the corpus's rooms with `store`, a Store of the build before the index (its
 * appendMember): each is created by its first member and joined by the others, all public.
 */
export async function createRooms(store, corpus, ts = Date.now()) {
  for (const room of corpus.rooms) {
    const [owner, ...rest] = room.members;
    const change = { room: room.name, ts, bigRoom: 200, claimed: true };
    await store.appendMember({
      ...change,
      user: owner,
      by: owner,
      action: 'create',
      settings: { visibility: 'public', history: room.history },
    });
    for (const user of rest)
      await store.appendMember({ ...change, user, by: user, action: 'join' });
  }
}

/** Rows per transaction of the direct inserts. */
const BATCH = 20_000;

/**
 * Inserts the corpus's messages into the SQLite file at `path` (made by the build before the
 * index) in transactions of BATCH rows, moves the push cursor past them (as a server that had
 * sent their pushes would have: otherwise the next server would push a million messages) and
 * checkpoints the WAL. Resolves `{ rows, ms }`.
 */
export function seedSqlite(path, corpus, onProgress) {
  const Database = createRequire(join(ROOT, 'package.json'))('better-sqlite3');
  const db = new Database(path);
  const t0 = performance.now();
  try {
    db.pragma('synchronous = OFF');
    const insert = db.prepare(
      'INSERT INTO messages (ts, sender, recipient, text) VALUES (?, ?, ?, ?)',
    );
    const write = db.transaction((b) => {
      for (let j = 0; j < b.ts.length; j++) insert.run(b.ts[j], b.from[j], b.to[j], b.text[j]);
    });
    let rows = 0;
    for (const b of corpus.batches(BATCH)) {
      write(b);
      rows += b.ts.length;
      onProgress?.(rows);
    }
    db.prepare(
      `INSERT INTO meta (key, value) SELECT 'push_cursor', max(id) FROM messages WHERE true
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ).run();
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { rows, ms: Math.round(performance.now() - t0) };
  } finally {
    db.close();
  }
}

/**
 * seedSqlite for PostgreSQL: `schema` at `url` (made by the build before the index), one
 * INSERT … SELECT FROM unnest(…) of BATCH rows per transaction, ids from the table's own
 * sequence; then the push cursor, and VACUUM ANALYZE, so that the measured server does not
 * meet autovacuum's first pass over a million new rows. Resolves `{ rows, ms }`.
 */
export async function seedPostgres(url, schema, corpus, onProgress) {
  const db = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await db.connect();
  const t0 = performance.now();
  try {
    let rows = 0;
    for (const b of corpus.batches(BATCH)) {
      await db.query(
        `INSERT INTO messages (ts, sender, recipient, text)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])`,
        [b.ts, b.from, b.to, b.text],
      );
      rows += b.ts.length;
      onProgress?.(rows);
    }
    await db.query(
      `INSERT INTO meta (key, value) SELECT 'push_cursor', max(id) FROM messages
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    );
    await db.query('VACUUM ANALYZE messages');
    return { rows, ms: Math.round(performance.now() - t0) };
  } finally {
    await db.end();
  }
}
