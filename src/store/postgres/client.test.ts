/**
 * client.ts without a database: a fake pool whose connections fail as pg's do, to
 * check which failures destroy a connection and which BEGIN failures move to another one.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type pg from 'pg';
import { inTransaction } from './client.js';

/** A checked-out connection that records its statements and how it was released. */
class FakeClient extends EventEmitter {
  readonly statements: string[] = [];
  released: { err: unknown } | undefined;

  constructor(private readonly answer: (text: string) => Promise<unknown>) {
    super();
  }

  query(config: string | { text: string }): Promise<unknown> {
    const text = typeof config === 'string' ? config : config.text;
    this.statements.push(text);
    return this.answer(text);
  }

  release(err?: unknown): void {
    this.released = { err };
  }
}

function fakePool(clients: FakeClient[]): { pool: pg.Pool; handedOut: FakeClient[] } {
  const handedOut: FakeClient[] = [];
  const pool = {
    connect: async () => {
      const client = clients.shift();
      if (!client) throw new Error('no more connections');
      handedOut.push(client);
      return client;
    },
  } as unknown as pg.Pool;
  return { pool, handedOut };
}

/** A Node socket error as pg passes it on: errno code, syscall, no SQLSTATE. */
function socketError(code: string): Error {
  return Object.assign(new Error(`write ${code}`), { code, errno: -32, syscall: 'write' });
}

const ok = async () => ({ rows: [], rowCount: 0 });

test('a BEGIN that fails with a socket error (EPIPE) moves to another connection and destroys the first', async () => {
  const dead = new FakeClient(async (text) => {
    if (text === 'BEGIN') throw socketError('EPIPE');
    return ok();
  });
  const live = new FakeClient(ok);
  const { pool, handedOut } = fakePool([dead, live]);
  const result = await inTransaction(pool, async () => 'done');
  assert.equal(result, 'done');
  assert.equal(handedOut.length, 2);
  assert.ok(dead.released?.err instanceof Error, 'the dead connection is destroyed, not pooled');
  assert.deepEqual(live.statements, ['BEGIN', 'COMMIT']);
  assert.equal(live.released?.err, undefined);
});

test('work failing with a socket error destroys its connection without a ROLLBACK', async () => {
  const client = new FakeClient(async (text) => {
    if (text === 'INSERT') throw socketError('EPIPE');
    return ok();
  });
  const { pool } = fakePool([client]);
  await assert.rejects(
    inTransaction(pool, async (c) => c.query('INSERT')),
    /EPIPE/,
  );
  assert.deepEqual(client.statements, ['BEGIN', 'INSERT']);
  assert.ok(client.released?.err instanceof Error);
});

test('a server error (a SQLSTATE) rolls back and keeps the connection', async () => {
  const client = new FakeClient(async (text) => {
    if (text === 'INSERT') {
      throw Object.assign(new Error('duplicate key'), { code: '23505', severity: 'ERROR' });
    }
    return ok();
  });
  const { pool } = fakePool([client]);
  await assert.rejects(
    inTransaction(pool, async (c) => c.query('INSERT')),
    /duplicate/,
  );
  assert.deepEqual(client.statements, ['BEGIN', 'INSERT', 'ROLLBACK']);
  assert.equal(client.released?.err, undefined);
});

test("a checked-out connection's 'error' event is heard and the connection destroyed", async () => {
  const client = new FakeClient(ok);
  const { pool } = fakePool([client]);
  await inTransaction(pool, async (c) => {
    // With no listener this would throw (an unhandled 'error' kills the process).
    (c as unknown as EventEmitter).emit('error', new Error('Connection terminated unexpectedly'));
    return 1;
  });
  assert.ok(client.released?.err instanceof Error);
  assert.equal(client.listenerCount('error'), 0);
});
