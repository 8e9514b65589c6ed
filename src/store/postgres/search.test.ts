// PostgreSQL's side of search (search.ts): the literals it builds, hostile queries, pages read
// either way (walked or through the GIN index), and the backfill of a database from before the
// index. What every engine does is search.contract.ts's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { admin, TEST_DATABASE_URL, testSchemas } from '../../../test/pg-schemas.js';
import { ChatError } from '../../domain/errors.js';
import type { NewMessage } from '../../domain/events.js';
import { parseSearch } from '../../domain/search.js';
import type { Appended } from '../store.js';
import { migrate } from './schema.js';
import { BACKFILL_CHUNK, searchQuery, tokensVector } from './search.js';
import { PostgresStore } from './store.js';

const url = TEST_DATABASE_URL;
const newSchema = testSchemas('ssechat_search_');
const open = (schema: string): Promise<PostgresStore> =>
  PostgresStore.open({ url, schema, maxOfflinePerUser: 10, poolSize: 4 });

const msg = (over: Partial<NewMessage> = {}): NewMessage => ({
  from: 'ann',
  to: 'all',
  text: 't',
  ts: 1,
  offline: false,
  ...over,
});

const NEWEST = Number.MAX_SAFE_INTEGER;

/** A schema as an ssechat from before search left it, with `n` broadcasts in it. */
async function beforeSearch(n: number, text = (i: number) => `word${i} common`): Promise<string> {
  const schema = newSchema();
  const store = await open(schema);
  const sends: Array<Promise<Appended>> = [];
  for (let i = 0; i < n; i++) sends.push(store.append(msg({ text: text(i), ts: i })));
  await Promise.all(sends);
  await store.close();
  // The steps after search (profiles, departed, replies, admins, sanctions, reports,
  // last_seen, invites, blocks; reactions runs again as it is) first.
  await admin(`SET search_path TO ${schema};
    DROP TABLE blocks;
    ALTER TABLE messages DROP COLUMN withheld;
    DROP TABLE invite_uses, invite_links, server_settings;
    ALTER TABLE users DROP COLUMN last_seen;
    DROP TABLE sanctions, address_bans;
    DROP TABLE audit;
    DROP FUNCTION audit_refuse();
    ALTER TABLE users DROP COLUMN admin;
    DROP TABLE profiles, departed, reports;
    ALTER TABLE messages DROP COLUMN reply_to;
    ALTER TABLE messages DROP COLUMN search;
    DELETE FROM meta WHERE key = 'search_backfill';
    UPDATE schema_version SET version = 8; -- before step 9, search`);
  return schema;
}

/** The backfill's cursor in `schema` (see search.ts), undefined when it is done. */
async function cursor(schema: string): Promise<number | undefined> {
  const rows = await admin<{ value: number }>(
    `SELECT value::int FROM ${schema}.meta WHERE key = 'search_backfill'`,
  );
  return rows[0]?.value;
}

/** How many messages with a word in them have no index entry. */
async function unindexed(schema: string): Promise<number> {
  const [row] = await admin<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${schema}.messages
      WHERE kind = 'message' AND NOT deleted AND search IS NULL AND text ~ '[[:alnum:]]'`,
  );
  return row?.n ?? -1;
}

describe('PostgreSQL search', () => {
  test('any token is a lexeme of the literals, never their syntax', async () => {
    const tokens = [
      "it's",
      'back\\slash',
      "\\'",
      "''",
      'a:b',
      'x&y|z',
      '!not',
      '(paren)',
      '<->',
      '<2>',
      'star*',
      ':*',
      'two words',
      'café',
      '北京',
    ];
    for (const token of tokens) {
      const vector = tokensVector([token, 'next']);
      const [row] = await admin<{ lexemes: string[]; phrase: boolean; prefix: boolean }>(
        `SELECT ARRAY(SELECT lexeme FROM unnest($1::tsvector) ORDER BY lexeme) AS lexemes,
                $1::tsvector @@ $2::tsquery AS phrase, $1::tsvector @@ $3::tsquery AS prefix`,
        [
          vector,
          searchQuery([{ tokens: [token, 'next'], prefix: false }]),
          searchQuery([{ tokens: [token.slice(0, 2)], prefix: true }]),
        ],
      );
      assert.deepEqual(row?.lexemes.sort(), [token, 'next'].sort(), token);
      assert.equal(row?.phrase, true, token);
      assert.equal(row?.prefix, true, token);
    }
  });

  test('hostile queries answer or are refused, and never make PostgreSQL fail', async () => {
    const store = await open(newSchema());
    await store.append(msg({ text: "O'Reilly's \\ back\\slash: a & b | !c <-> d:* (e) 北京大学" }));
    const queries = [
      '"',
      '""',
      '*',
      '**',
      'a*',
      'NEAR(a b)',
      '-x',
      ':',
      "'",
      "''",
      '\\',
      "o'reilly",
      'back\\slash',
      'a & b',
      'a | b',
      '!c',
      'c <-> d',
      'd:*',
      'd:* & x',
      '(e)',
      "'; DROP TABLE messages; --",
      '" OR 1=1 --',
      'from:',
      'in:#',
      "from:'x' with:\\",
      'x'.repeat(512),
      'x'.repeat(10 * 1024),
      `${'ab '.repeat(12)}`,
      `"${'北京'.repeat(8)}"`,
      '\u0000',
      '\ud800',
      'e\u0301',
    ];
    for (const q of queries) {
      let request: ReturnType<typeof parseSearch>;
      try {
        request = parseSearch(q);
      } catch (err) {
        assert.ok(err instanceof ChatError, q);
        continue;
      }
      await store.search('ann', { ...request, before: NEWEST, limit: 20 });
    }
    const found = await store.search('bob', {
      ...parseSearch('reilly back* 京大'),
      before: NEWEST,
      limit: 20,
    });
    assert.equal(found.messages.length, 1);
    await store.close();
  });

  test('pages come whole and in order, whether walked or read through the index', async () => {
    const schema = newSchema();
    const store = await open(schema);
    const sends: Array<Promise<Appended>> = [];
    for (let i = 0; i < 3000; i++) {
      // `early` in the oldest two thirds only: common by the statistics, absent lately, so
      // a walk goes on in larger windows.
      const text = `common ${i % 500 === 0 ? 'rare' : 'plain'} word${i % 3}${i < 2000 ? ' early' : ''}`;
      // Every fourth one a direct message between others: matches the reader never sees.
      sends.push(store.append(msg({ text, ts: i, ...(i % 4 === 3 && { to: 'bob' }) })));
    }
    const sent = (await Promise.all(sends)).map((r) => r.message);
    // The planner's statistics: `common` is in every message (a walk), `rare` in six (GIN).
    // Pages must be the same either way.
    await admin(`ANALYZE ${schema}.messages`);
    const seen = (q: string) => sent.filter((m) => m.to === 'all' && m.text.includes(q)).reverse();
    for (const [q, limit] of [
      ['common', 400],
      ['rare', 2],
      ['common word1', 150],
      ['early', 50],
    ] as const) {
      const found: number[] = [];
      let before: number | null = NEWEST;
      for (let n = 0; before !== null && n < 100; n++) {
        const page = await store.search('cat', { ...parseSearch(q), before, limit });
        assert.ok(page.messages.length <= limit);
        // The log is shorter than a walk's bound (MAX_WALK): no page stops before it is full.
        if (page.next !== null) assert.equal(page.messages.length, limit, q);
        found.push(...page.messages.map((m) => m.id));
        before = page.next;
      }
      const want = q === 'common word1' ? seen('word1') : seen(q);
      assert.deepEqual(
        found,
        want.map((m) => m.id),
        q,
      );
    }
    await store.close();
  });

  test('the backfill keeps what an edit wrote while it read the old text', async () => {
    const schema = await beforeSearch(3, (i) => `old text ${i}`);
    // An edit to a text without a word leaves search NULL: only the text guard tells it apart.
    // Migrated first: the migration's ALTER TABLE would wait for the edit's transaction.
    const editor = new pg.Client({ connectionString: url });
    await editor.connect();
    try {
      await migrate(editor, schema, true);
      await editor.query('BEGIN');
      await editor.query(`UPDATE ${schema}.messages SET text = '!!!', edited = 2 WHERE id = 2`);
      const store = await open(schema);
      // The backfill read the old text (the edit has not committed) and waits on the row.
      let waited = false;
      for (let i = 0; i < 500 && !waited; i++) {
        const waiting = await admin(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE messages m SET search%'`,
        );
        waited = waiting.length > 0;
        if (!waited) await sleep(10);
      }
      assert.ok(waited, 'the backfill waits on the edited row');
      await editor.query('COMMIT');
      await store.backfilled();
      const rows = await admin<{ id: number; text: string; indexed: boolean }>(
        `SELECT id::int, text, search IS NOT NULL AS indexed FROM ${schema}.messages ORDER BY id`,
      );
      assert.deepEqual(rows, [
        { id: 1, text: 'old text 0', indexed: true },
        { id: 2, text: '!!!', indexed: false },
        { id: 3, text: 'old text 2', indexed: true },
      ]);
      const found = await store.search('bob', { ...parseSearch('old'), before: NEWEST, limit: 9 });
      assert.deepEqual(
        found.messages.map((m) => m.id),
        [3, 1],
      );
      await store.close();
    } finally {
      await editor.end();
    }
  });

  test('close() stops the backfill between chunks; processes started later finish it', async () => {
    const total = 6 * BACKFILL_CHUNK;
    const schema = await beforeSearch(total);
    const first = await open(schema);
    // Stopped once a chunk has committed and before the last one.
    for (let i = 0; i < 1000 && (await cursor(schema)) === total; i++) await sleep(5);
    await first.close();
    await first.backfilled();
    const left = await cursor(schema);
    assert.ok(left !== undefined && left < total, `cursor ${left}`);
    assert.equal(await unindexed(schema), left);

    // Two processes at once: one holds the cursor at a time, and both see the end.
    const [a, b] = await Promise.all([open(schema), open(schema)]);
    await Promise.all([a.backfilled(), b.backfilled()]);
    assert.equal(await cursor(schema), undefined);
    assert.equal(await unindexed(schema), 0);
    const found = await a.search('cat', { ...parseSearch('word1'), before: NEWEST, limit: 5 });
    assert.deepEqual(
      found.messages.map((m) => m.text),
      ['word1 common'],
    );
    await Promise.all([a.close(), b.close()]);
  });
});
