import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningServer } from '../src/main.js';
import { api, get, SseClient, session, startTestServer } from './helpers.js';

const NO_LIMITS = {
  sendLimitUser: null,
  sendLimitIp: null,
  connectLimitUser: null,
  connectLimitIp: null,
} as const;

/** Runs `fn` against a server with these settings, and closes it whatever happens. */
async function withServer(
  overrides: Parameters<typeof startTestServer>[0],
  fn: (base: string, server: RunningServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ ...NO_LIMITS, ...overrides });
  try {
    await fn(server.url, server);
  } finally {
    await server.close();
  }
}

describe('sending limits', () => {
  test('a user past their bucket gets 429 with Retry-After on both front doors; nothing is stored', () =>
    withServer({ sendLimitUser: { rate: 0.5, burst: 3 } }, async (base) => {
      const ann = await session(base, 'ann');
      for (let i = 0; i < 2; i++) {
        const ok = await api(base, 'POST', '/api/v1/messages', { to: 'all', text: `m${i}` }, ann);
        assert.equal(ok.status, 201);
      }
      assert.equal((await get(base, '/msg/ann/all%20m2')).status, 204);
      const refused = await api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'x' }, ann);
      assert.equal(refused.status, 429);
      assert.equal(refused.json.error.code, 'CHAT_RATE_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After in whole seconds');
      const classic = await get(base, '/msg/ann/all%20y');
      assert.equal(classic.status, 429);
      assert.equal(JSON.parse(classic.body).error.code, 'CHAT_RATE_LIMITED');
      // Read receipts count too.
      const receipt = await api(base, 'POST', '/api/v1/read', { upTo: 1 }, ann);
      assert.equal(receipt.status, 429);
      // Others are not affected, and the refused texts were never stored.
      assert.equal((await get(base, '/msg/bob/all%20hi')).status, 204);
      const page = await api(base, 'GET', '/api/v1/messages?with=all', undefined, ann);
      assert.deepEqual(
        page.json.messages.map((m: { text: string }) => m.text),
        ['m0', 'm1', 'm2', 'hi'],
      );
      // The operator sees them.
      const metrics = (await get(base, '/metrics')).body;
      assert.match(metrics, /^ssechat_refused_total\{what="send"\} 3$/m);
      // Waiting out Retry-After is enough.
      await sleep(2_050);
      assert.equal((await get(base, '/msg/ann/all%20later')).status, 204);
    }));

  test('an address is limited across every nick it uses (behind a trusted proxy)', () =>
    withServer({ sendLimitIp: { rate: 0.01, burst: 2 }, trustProxy: 'yes' }, async (base) => {
      const from = (ip: string) => ({ 'X-Forwarded-For': ip });
      assert.equal((await get(base, '/msg/a1/all%20x', from('203.0.113.1'))).status, 204);
      assert.equal((await get(base, '/msg/a2/all%20x', from('203.0.113.1'))).status, 204);
      const third = await get(base, '/msg/a3/all%20x', from('203.0.113.1'));
      assert.equal(third.status, 429);
      assert.match(JSON.parse(third.body).error.message, /from this address/);
      assert.equal((await get(base, '/msg/a3/all%20x', from('203.0.113.2'))).status, 204);
      // One IPv6 /64 is one client.
      assert.equal((await get(base, '/msg/b/all%20x', from('2001:db8::1'))).status, 204);
      assert.equal((await get(base, '/msg/b/all%20x', from('2001:db8::2'))).status, 204);
      assert.equal((await get(base, '/msg/b/all%20x', from('2001:db8:0:0:ffff::9'))).status, 429);
    }));
});

describe('stream limits', () => {
  test('a user holds at most --max-streams-per-user streams; a closed one frees its place', () =>
    withServer({ maxStreamsPerUser: 2 }, async (base) => {
      const one = await SseClient.open(base, '/cat');
      const two = await SseClient.open(base, '/cat');
      await Promise.all([one, two].map((c) => c.waitForLine('Welcome cat!')));
      const three = await SseClient.open(base, '/cat');
      assert.equal(three.status, 429);
      await three.waitFor((c) => c.closed);
      assert.equal(JSON.parse(three.raw).error.code, 'CHAT_TOO_MANY_STREAMS');
      // The JSON API counts against the same cap.
      const cat = await session(base, 'cat');
      const api3 = await SseClient.open(base, '/api/v1/events', cat);
      assert.equal(api3.status, 429);
      api3.close();
      assert.match(
        (await get(base, '/metrics')).body,
        /^ssechat_refused_total\{what="streams"\} 2$/m,
      );
      // Another user is not affected.
      const dog = await SseClient.open(base, '/dog');
      assert.equal(dog.status, 200);
      one.close();
      await two.waitForLine('dog has joined.');
      await sleep(50);
      const again = await SseClient.open(base, '/api/v1/events', cat);
      assert.equal(again.status, 200);
      for (const c of [two, dog, again]) c.close();
    }));

  test('opening streams is rate limited per user and per address', () =>
    withServer(
      { connectLimitUser: { rate: 0.01, burst: 2 }, connectLimitIp: { rate: 0.01, burst: 5 } },
      async (base) => {
        const open: SseClient[] = [];
        for (let i = 0; i < 2; i++) open.push(await SseClient.open(base, '/eve'));
        const third = await SseClient.open(base, '/eve');
        assert.equal(third.status, 429);
        await third.waitFor((c) => c.closed);
        assert.match(JSON.parse(third.raw).error.message, /opening streams as eve/);
        // In open mode the address is charged first: eve's refused third try took one of the
        // address's 5 tokens too.
        open.push(await SseClient.open(base, '/fay'));
        open.push(await SseClient.open(base, '/gus'));
        const fifth = await SseClient.open(base, '/hal');
        assert.equal(fifth.status, 429);
        fifth.close();
        assert.deepEqual(
          open.map((c) => c.status),
          [200, 200, 200, 200],
        );
        for (const c of open) c.close();
      },
    ));
});

describe('open mode: a nick is only a claim', () => {
  test('another address cannot lock a user out by sending, connecting or holding streams as them', () =>
    withServer(
      {
        trustProxy: 'yes',
        maxStreamsPerUser: 2,
        sendLimitUser: { rate: 0.01, burst: 2 },
        connectLimitUser: { rate: 0.01, burst: 3 },
      },
      async (base) => {
        const attacker = { 'X-Forwarded-For': '198.51.100.66' };
        const owner = { 'X-Forwarded-For': '203.0.113.1' };
        // The attacker empties "ann"'s buckets and fills her stream places, from its address.
        for (let i = 0; i < 3; i++) await get(base, '/msg/ann/all%20spam', attacker);
        assert.equal((await get(base, '/msg/ann/all%20spam', attacker)).status, 429);
        const held = [
          await SseClient.open(base, '/ann', attacker),
          await SseClient.open(base, '/ann', attacker),
        ];
        assert.deepEqual(
          held.map((c) => c.status),
          [200, 200],
        );
        assert.equal((await SseClient.open(base, '/ann', attacker)).status, 429);
        // Ann, from her own address, is not touched by any of it.
        assert.equal((await get(base, '/msg/ann/all%20hello', owner)).status, 204);
        const mine = await SseClient.open(base, '/ann', owner);
        assert.equal(mine.status, 200);
        for (const c of [...held, mine]) c.close();
      },
    ));
});

describe('accounts mode: a proven user is one user wherever they connect from', () => {
  test('the stream cap and the user buckets hold across addresses', () =>
    withServer(
      {
        auth: 'accounts',
        trustProxy: 'yes',
        maxStreamsPerUser: 2,
        sendLimitUser: { rate: 0.01, burst: 2 },
      },
      async (base) => {
        const cookie = await session(base, 'bea', 'correct horse battery', true);
        const from = (ip: string) => ({ ...cookie, 'X-Forwarded-For': ip });
        const one = await SseClient.open(base, '/api/v1/events', from('203.0.113.1'));
        const two = await SseClient.open(base, '/api/v1/events', from('203.0.113.2'));
        const three = await SseClient.open(base, '/api/v1/events', from('203.0.113.3'));
        assert.deepEqual([one.status, two.status, three.status], [200, 200, 429]);
        const send = (ip: string) =>
          api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'x' }, from(ip));
        assert.equal((await send('203.0.113.1')).status, 201);
        assert.equal((await send('203.0.113.2')).status, 201);
        assert.equal((await send('203.0.113.3')).status, 429);
        for (const c of [one, two, three]) c.close();
      },
    ));
});

describe('defaults', () => {
  test('a flooding client gets 429s while another user keeps sending', async () => {
    // The shipped defaults, not NO_LIMITS: this is what an operator gets.
    const server = await startTestServer();
    try {
      const base = server.url;
      const flooder = await session(base, 'flood');
      const other = await session(base, 'calm');
      const statuses = new Map<number, number>();
      let calmRefused = 0;
      let flooding = true;
      // Until refused: the bucket holds 1000 and refills 50/s, so on a slow machine this takes
      // longer, never forever (at most 5000 requests each).
      const flood = async () => {
        for (let i = 0; i < 5_000 && flooding; i++) {
          const r = await api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'x' }, flooder);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 429 && (statuses.get(429) ?? 0) >= 20) flooding = false;
        }
      };
      const calm = async () => {
        for (let i = 0; i < 20 || flooding; i++) {
          const r = await api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'hi' }, other);
          if (r.status !== 201) calmRefused++;
          await sleep(50); // 20 a second at most: well inside its own 50/s
        }
      };
      await Promise.all([flood(), flood(), flood(), calm()]);
      assert.ok((statuses.get(429) ?? 0) > 0, `flooder statuses ${[...statuses]}`);
      assert.ok((statuses.get(201) ?? 0) >= 1000, 'the burst of 1000 was served');
      assert.deepEqual([...statuses.keys()].sort(), [201, 429]);
      assert.equal(calmRefused, 0);
    } finally {
      await server.close();
    }
  });
});
