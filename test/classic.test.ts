// The seed's classic protocol over the real wire: a server on port 0, real sockets.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventSource } from 'eventsource';
import type { RunningServer } from '../src/main.js';
import { barrier, get, SseClient, startTestServer } from './helpers.js';

let server: RunningServer;
let base: string;
const open: SseClient[] = [];
const login = async (nick: string): Promise<SseClient> => {
  const c = await SseClient.open(base, `/${nick}`);
  open.push(c);
  await c.waitFor((x) => x.events.length >= 2);
  return c;
};

before(async () => {
  server = await startTestServer({ heartbeatMs: 1000 });
  base = server.url;
});
after(async () => {
  for (const c of open) c.close();
  await server.close();
});

describe('pages', () => {
  test('GET / is our chat page: HTML whose script uses EventSource on the JSON API', async () => {
    const r = await get(base, '/');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(r.body, /<script type="module" src="\/assets\/app.js">/);
    // The tabs' shared stream (stream.js) opens its EventSource through connection.js.
    const stream = await get(base, '/assets/stream.js');
    assert.match(stream.body, /from '\.\/connection\.js'/);
    const connection = await get(base, '/assets/connection.js');
    assert.match(connection.body, /new EventSource\(/);
    assert.match(connection.body, /\/api\/v1\/events/);
    const head = await get(base, '/', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const cached = await get(base, '/', { 'If-None-Match': String(r.headers.etag) });
    assert.equal(cached.status, 304);
  });

  test('GET /classic is the seed page, byte for byte', async () => {
    const r = await get(base, '/classic');
    assert.equal(r.status, 200);
    const seed = readFileSync(new URL('../../web/classic.html', import.meta.url), 'utf8');
    assert.equal(r.body, seed);
    assert.equal(seed.length, 1640);
  });
});

describe('login stream', () => {
  test('starts with Welcome, then who was online, with SSE headers', async () => {
    const ann = await login('ann');
    assert.equal(ann.status, 200);
    assert.equal(ann.headers['content-type'], 'text/event-stream');
    assert.equal(ann.headers['cache-control'], 'no-cache');
    assert.equal(ann.headers['x-accel-buffering'], 'no');
    assert.ok(ann.raw.startsWith('data: Welcome ann!\n\ndata: now online: '), ann.raw);
    const ben = await login('ben');
    assert.deepEqual(ben.lines.slice(0, 2), ['Welcome ben!', `now online: ${'ann'}`]);
    await ann.waitForLine('ben has joined.');
    await barrier(base, [ann, ben], 'login-1');
    assert.ok(!ben.lines.includes('ben has joined.'), 'a login is not announced to itself');
    ann.close();
    ben.close();
    await barrier(base, [], 'settle');
  });

  test('"now online" lists users in order of arrival, a second tab included', async () => {
    const c1 = await login('cat');
    const d1 = await login('dan');
    const c2 = await login('cat');
    assert.equal(c2.lines[1], 'now online: cat, dan');
    // The seed announces every login, a second tab too, to every other stream.
    await d1.waitForLine('cat has joined.');
    await c1.waitForLine('cat has joined.');
    await barrier(base, [c1, c2, d1], 'tabs');
    assert.equal(d1.lines.filter((l) => l === 'cat has joined.').length, 1);
    assert.ok(!c2.lines.includes('cat has joined.'));
    for (const c of [c1, c2, d1]) c.close();
  });

  test('"has left" is sent only when the last tab closes', async () => {
    const e1 = await login('eve');
    const e2 = await login('eve');
    const fay = await login('fay');
    e1.close();
    await barrier(base, [fay, e2], 'one-tab-closed');
    assert.ok(!fay.lines.includes('eve has left.'));
    e2.close();
    await fay.waitForLine('eve has left.');
    const later = await login('gus');
    assert.ok(!later.lines[1]?.includes('eve'), later.lines[1]);
    fay.close();
    later.close();
  });
});

describe('messages', () => {
  test('to all: "<from> to all: <text>" on every stream, with an id', async () => {
    const [h1, h2, ida] = [await login('hal'), await login('hal'), await login('ida')];
    assert.equal((await get(base, '/msg/ida/all%20hello%20world')).status, 204);
    for (const c of [h1, h2, ida]) await c.waitForLine('ida to all: hello world');
    assert.match(ida.raw, /\nid: \d+\ndata: ida to all: hello world\n\n/);
    for (const c of [h1, h2, ida]) c.close();
  });

  test('to an online user: every tab of both, nobody else', async () => {
    const [j1, j2, k1, k2, lea] = [
      await login('jim'),
      await login('jim'),
      await login('kim'),
      await login('kim'),
      await login('lea'),
    ];
    assert.equal((await get(base, '/msg/kim/jim%20psst')).status, 204);
    for (const c of [j1, j2]) await c.waitForLine('kim: psst');
    for (const c of [k1, k2]) await c.waitForLine('You to jim: psst');
    await barrier(base, [j1, k1, lea], 'dm');
    assert.ok(!lea.lines.some((l) => l.includes('psst')));
    assert.ok(!j1.lines.includes('You to jim: psst'));
    assert.ok(!k1.lines.includes('kim: psst'));
    // A note to self: only the echo, once per tab.
    assert.equal((await get(base, '/msg/jim/jim%20memo')).status, 204);
    await barrier(base, [j1, j2], 'self');
    for (const c of [j1, j2]) {
      assert.deepEqual(
        c.lines.filter((l) => l.includes('memo')),
        ['You to jim: memo'],
      );
    }
    for (const c of [j1, j2, k1, k2, lea]) c.close();
  });

  test('to an offline user: kept, then delivered once at the next login', async () => {
    const max = await login('max');
    assert.equal((await get(base, '/msg/max/ned%20see%20you')).status, 204);
    await max.waitForLine('You to ned (offline): see you');
    // A sender need not be online; its notice then goes nowhere.
    assert.equal((await get(base, '/msg/oz/ned%20second')).status, 204);

    const ned = await login('ned');
    await ned.waitFor((c) => c.events.length >= 4);
    const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d$/;
    const [welcome, online, first, second] = ned.lines;
    assert.equal(welcome, 'Welcome ned!');
    assert.equal(online, 'now online: max');
    assert.match(first ?? '', /^max \((.+)\): see you$/);
    assert.match(/\((.+)\)/.exec(first ?? '')?.[1] ?? '', stamp);
    assert.match(second ?? '', /^oz \(.+\): second$/);
    assert.ok(ned.events[2]?.id, 'stored messages carry their id');
    ned.close();

    const again = await login('ned');
    await barrier(base, [again], 'once');
    assert.ok(!again.lines.some((l) => l.includes('see you')), 'delivered only once');
    max.close();
    again.close();
  });

  test('CR and LF in text become several data lines and cannot forge fields', async () => {
    const pat = await login('pat');
    const text = encodeURIComponent('line1\r\nline2\rline3\n\nid: 999\ndata: forged');
    assert.equal((await get(base, `/msg/pat/all%20${text}`)).status, 204);
    await pat.waitFor((c) => c.lines.some((l) => l.startsWith('pat to all: line1')));
    assert.ok(
      pat.raw.includes(
        'data: pat to all: line1\ndata: line2\ndata: line3\ndata: \ndata: id: 999\ndata: data: forged\n\n',
      ),
      pat.raw,
    );
    const event = pat.events.find((e) => e.data.startsWith('pat to all: line1'));
    assert.equal(event?.data, 'pat to all: line1\nline2\nline3\n\nid: 999\ndata: forged');
    assert.notEqual(event?.id, '999');
    pat.close();
  });
});

describe('transport', () => {
  test('an idle stream gets a heartbeat comment', async () => {
    const quiet = await login('quiet');
    await quiet.waitFor((c) => c.comments > 0, 3000);
    assert.match(quiet.raw, /\n:\n\n/);
    quiet.close();
  });

  test('a stream pipelined behind a send is refused after the 204, and opens on a connection of its own', async () => {
    // A stream opens only on a connection it owns (issue 16): node would give a stream queued
    // behind another response no socket, and no word when the connection closed. The send
    // still goes through; the refusal follows its 204, in order, and says why.
    const sock = connect(server.port, '127.0.0.1');
    let got = '';
    const until = async (ok: () => boolean, what: string): Promise<void> => {
      for (const end = Date.now() + 3000; !ok(); await sleep(10)) {
        if (Date.now() > end) throw new Error(`no ${what} in ${JSON.stringify(got)}`);
      }
    };
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      got += d;
    });
    try {
      sock.write(
        'GET /msg/carol/all%20hello HTTP/1.1\r\nHost: x\r\n\r\n' +
          'GET /piper HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n',
      );
      await until(() => got.includes('HTTP_STREAM_PIPELINED'), 'refusal');
      const order = ['HTTP/1.1 204', 'HTTP/1.1 400', 'HTTP_STREAM_PIPELINED'];
      const at = order.map((s) => got.indexOf(s));
      assert.ok(
        at.every((i, k) => i >= 0 && (k === 0 || i > (at[k - 1] as number))),
        JSON.stringify(got),
      );
      assert.ok(!got.includes('Welcome piper!'), JSON.stringify(got));
      const piper = await SseClient.open(base, '/piper');
      await piper.waitForLine('Welcome piper!');
      assert.equal((await get(base, '/msg/dave/piper%20live')).status, 204);
      await piper.waitForLine('dave: live');
      piper.close();
    } finally {
      sock.destroy();
    }
  });

  test('bytes that are no request, sent after a stream opened, end it without an answer inside it', async () => {
    const sock = connect(server.port, '127.0.0.1');
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      got += d;
    });
    const closed = new Promise<void>((ok) => sock.on('close', () => ok()));
    sock.on('error', () => {});
    sock.write('GET /garbler HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    for (const end = Date.now() + 3000; !got.includes('now online:'); await sleep(10)) {
      if (Date.now() > end) throw new Error(`no greeting in ${JSON.stringify(got)}`);
    }
    sock.write('\u0001\u0002 garbage\r\n\r\n');
    await closed;
    assert.equal(got.match(/HTTP\/1\.1 /g)?.length, 1, JSON.stringify(got));
    assert.equal((await get(base, '/msg/dave/all%20after')).status, 204);
  });

  test('a real EventSource logs in, receives messages and their ids', async () => {
    const es = new EventSource(`${base}/ray`);
    const got: MessageEvent[] = [];
    try {
      await new Promise<void>((ok, fail) => {
        es.onerror = () => fail(new Error('EventSource error'));
        es.onmessage = (e) => {
          got.push(e);
          if (e.data === 'now online: ') ok();
          if (String(e.data).startsWith('now online:') && e.data !== 'now online: ') ok();
        };
      });
      assert.equal(got[0]?.data, 'Welcome ray!');
      const sent = get(base, '/msg/sam/ray%20hi%20ray');
      await new Promise<void>((ok) => {
        es.onmessage = (e) => {
          got.push(e);
          if (e.data === 'sam: hi ray') ok();
        };
      });
      assert.equal((await sent).status, 204);
      assert.match(got.at(-1)?.lastEventId ?? '', /^\d+$/);
    } finally {
      es.close();
    }
  });
});
