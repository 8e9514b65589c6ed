// Files in messages over the wire (docs/api.md, Files): who may fetch what, what is served
// inline, what the server strips and refuses, and what goes when.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { RunningServer } from '../src/main.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';
import { gpsJpeg, pngBomb, solidPng } from './image-fixtures.js';
import { exchange, fetchFile, upload } from './upload-client.js';
import { waitUntil } from './wait-until.js';

const PASSWORD = 'correct horse battery';
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n');

/** An accounts-mode server and its users, registered on first use. */
function world(overrides: Parameters<typeof startTestServer>[0] = {}) {
  let server: RunningServer;
  const cookies = new Map<string, Record<string, string>>();
  const base = () => server.url;
  const as = async (nick: string) => {
    let c = cookies.get(nick);
    if (!c) {
      c = await session(base(), nick, PASSWORD, true);
      cookies.set(nick, c);
    }
    return c;
  };
  const put = async (nick: string, name: string, bytes: Buffer, type?: string) => {
    const r = await upload(base(), await as(nick), name, bytes, type);
    assert.equal(r.status, 201, r.body.toString());
    return r.json.upload as { id: string; size: number; type: string; width?: number };
  };
  const send = async (nick: string, to: string, attachments: string[], text = '') => {
    if (to !== 'all' && !to.startsWith('#')) await as(to);
    const r = await api(
      base(),
      'POST',
      '/api/v1/messages',
      { to, text, attachments },
      await as(nick),
    );
    return r;
  };
  const get = async (nick: string, id: string, thumb = false, headers = {}) =>
    fetchFile(base(), await as(nick), id, thumb, headers);
  const call = async (nick: string, method: string, path: string, body?: unknown) =>
    api(base(), method, `/api/v1${path}`, body, await as(nick));
  return {
    start: async () => {
      server = await startTestServer({ auth: 'accounts', ...NO_LIMITS, ...overrides });
    },
    stop: () => server.close(),
    base,
    as,
    put,
    send,
    get,
    call,
  };
}

describe('uploads', () => {
  const w = world();
  before(w.start);
  after(w.stop);

  test('a DM’s file reaches the pair, in the stream and history; an outsider gets 404', async () => {
    const bob = await SseClient.open(w.base(), '/api/v1/events', await w.as('bob'));
    await bob.waitFor((c) => c.of('hello').length > 0);
    const png = await solidPng(800, 600);
    const up = await w.put('ann', 'red.png', png);
    assert.deepEqual({ type: up.type, width: up.width }, { type: 'image/png', width: 800 });
    // Before it is sent, it is its owner's alone.
    assert.equal((await w.get('bob', up.id)).status, 404);
    assert.equal((await w.get('ann', up.id)).status, 200);
    const sent = await w.send('ann', 'bob', [up.id], 'look');
    assert.equal(sent.status, 201, sent.body);
    await bob.waitFor((c) => c.of('message').length > 0);
    const [event] = bob.of('message');
    assert.deepEqual(event.attachments, [{ ...up, name: 'red.png' }]);
    const history = await w.call('bob', 'GET', '/messages?with=ann');
    assert.deepEqual(history.json.messages[0].attachments, event.attachments);
    bob.close();

    const file = await w.get('bob', up.id);
    assert.equal(file.status, 200);
    assert.equal(file.headers['content-type'], 'image/png');
    assert.match(String(file.headers['content-disposition']), /^inline; filename="red.png"/);
    assert.equal(file.headers['x-content-type-options'], 'nosniff');
    assert.equal(file.headers['content-security-policy'], "sandbox; default-src 'none'");
    assert.equal(file.headers['cache-control'], 'private, no-cache');
    assert.equal(file.body.length, up.size);
    assert.equal((await sharp(file.body).metadata()).width, 800);
    const thumb = await w.get('bob', up.id, true);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers['content-type'], 'image/webp');
    const t = await sharp(thumb.body).metadata();
    assert.deepEqual([t.width, t.height], [400, 300]);
    for (const outsider of ['cat']) {
      assert.equal((await w.get(outsider, up.id)).status, 404);
      assert.equal((await w.get(outsider, up.id, true)).status, 404);
    }
    assert.equal((await w.get('cat', 'not-an-id')).status, 404);
  });

  test('a room’s file: members only, not before they joined, not after they left', async () => {
    assert.equal((await w.call('ann', 'POST', '/rooms', { name: '#files' })).status, 201);
    assert.equal((await w.call('bob', 'POST', '/rooms/files/join', {})).status, 201);
    const up = await w.put('ann', 'plan.pdf', PDF);
    assert.equal((await w.send('ann', '#files', [up.id])).status, 201);
    assert.equal((await w.call('cat', 'POST', '/rooms/files/join', {})).status, 201);
    assert.equal((await w.get('bob', up.id)).status, 200);
    assert.equal((await w.get('cat', up.id)).status, 404, 'joined after it was sent');
    assert.equal((await w.get('dan', up.id)).status, 404, 'never a member');
    assert.equal((await w.call('bob', 'POST', '/rooms/files/leave', {})).status, 201);
    assert.equal((await w.get('bob', up.id)).status, 404, 'left the room');
  });

  test('HTML, SVG with script and a polyglot are never served inline', async () => {
    const html = await w.put('ann', 'page.html', Buffer.from('<html><script>alert(1)</script>'));
    const svg = await w.put(
      'ann',
      'logo.svg',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      'image/svg+xml',
    );
    const png = await solidPng(40, 30);
    const polyglot = await w.put(
      'ann',
      'x.html',
      Buffer.concat([png, Buffer.from('<html><script>alert(1)</script></html>')]),
      'text/html',
    );
    const ids = [html.id, svg.id, polyglot.id];
    assert.equal((await w.send('ann', 'all', ids)).status, 201);
    for (const id of ids) {
      const file = await w.get('bob', id);
      assert.equal(file.status, 200);
      assert.match(String(file.headers['content-disposition']), /^attachment;/, id);
      assert.doesNotMatch(String(file.headers['content-type']), /html|svg|xml/, id);
      assert.equal(file.headers['x-content-type-options'], 'nosniff');
      assert.equal(file.headers['content-security-policy'], "sandbox; default-src 'none'");
      assert.equal((await w.get('bob', id, true)).status, 404, 'no thumbnail');
    }
    assert.equal(html.type, 'application/octet-stream');
    assert.equal(svg.type, 'application/octet-stream');
    assert.equal(polyglot.width, undefined);
  });

  test('a JPEG’s GPS position is in neither the served image nor the thumbnail', async () => {
    const jpeg = await gpsJpeg(600, 200);
    assert.ok(jpeg.includes('SECRET-DATUM'));
    const up = await w.put('ann', 'holiday.jpg', jpeg);
    // Orientation applied: stored 600x200, shown 200x600.
    assert.deepEqual([up.width, (up as { height?: number }).height], [200, 600]);
    assert.equal((await w.send('ann', 'bob', [up.id])).status, 201);
    for (const thumb of [false, true]) {
      const file = await w.get('bob', up.id, thumb);
      assert.equal(file.status, 200);
      const meta = await sharp(file.body).metadata();
      assert.equal(meta.exif, undefined);
      assert.equal(meta.orientation, undefined);
      assert.ok(!file.body.includes('SECRET') && !file.body.includes('GPS'));
    }
  });

  test('a decompression bomb is refused without the memory jumping', async () => {
    const rss = process.memoryUsage().rss;
    const r = await upload(w.base(), await w.as('ann'), 'bomb.png', pngBomb(50_000, 50_000));
    assert.equal(r.status, 422);
    assert.equal(r.json.error.code, 'UPLOAD_IMAGE_TOO_LARGE');
    assert.ok(process.memoryUsage().rss - rss < 100 * 1024 * 1024);
  });

  test('ranges of a file; a range past its end is 416', async () => {
    const bytes = Buffer.alloc(100_000, 7);
    bytes.write('START', 0);
    const up = await w.put('ann', 'data.bin', bytes);
    assert.equal((await w.send('ann', 'bob', [up.id])).status, 201);
    const head = await w.get('bob', up.id, false, { Range: 'bytes=0-4' });
    assert.equal(head.status, 206);
    assert.equal(head.headers['content-range'], 'bytes 0-4/100000');
    assert.equal(head.body.toString(), 'START');
    const tail = await w.get('bob', up.id, false, { Range: 'bytes=-10' });
    assert.equal(tail.status, 206);
    assert.equal(tail.body.length, 10);
    const past = await w.get('bob', up.id, false, { Range: 'bytes=200000-' });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], 'bytes */100000');
    const backwards = await w.get('bob', up.id, false, { Range: 'bytes=5-2' });
    assert.equal(backwards.status, 200, 'an invalid range is ignored');
    const whole = await w.get('bob', up.id);
    assert.equal(whole.headers['accept-ranges'], 'bytes');
    assert.ok(whole.body.equals(bytes));
    const again = await w.get('bob', up.id, false, { 'If-None-Match': String(whole.headers.etag) });
    assert.equal(again.status, 304);
  });

  test('only one’s own unsent uploads attach; an edit keeps the files', async () => {
    const mine = await w.put('ann', 'a.pdf', PDF);
    const theirs = await w.put('bob', 'b.pdf', PDF);
    const refused = await w.send('ann', 'cat', [theirs.id]);
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.code, 'UPLOAD_UNUSABLE');
    const sent = await w.send('ann', 'cat', [mine.id], 'first');
    assert.equal(sent.status, 201);
    const twice = await w.send('ann', 'dan', [mine.id]);
    assert.equal(twice.json.error.code, 'UPLOAD_UNUSABLE');
    const many = await w.send(
      'ann',
      'dan',
      Array.from({ length: 11 }, () => mine.id),
    );
    assert.equal(many.json.error.code, 'UPLOAD_TOO_MANY');
    assert.equal(
      (await w.call('ann', 'PATCH', `/messages/${sent.json.id}`, { text: 'x' })).status,
      200,
    );
    const [m] = (await w.call('cat', 'GET', '/messages?with=ann')).json.messages;
    assert.equal(m.text, 'x');
    assert.equal(m.attachments[0].id, mine.id);
    // A retry with the same clientId is the same message, files and all.
    const again = await w.put('ann', 'c.pdf', PDF);
    const first = await api(
      w.base(),
      'POST',
      '/api/v1/messages',
      { to: 'cat', text: '', attachments: [again.id], clientId: 'k1' },
      await w.as('ann'),
    );
    const retry = await api(
      w.base(),
      'POST',
      '/api/v1/messages',
      { to: 'cat', text: '', attachments: [again.id], clientId: 'k1' },
      await w.as('ann'),
    );
    assert.equal(retry.status, 201);
    assert.equal(retry.json.id, first.json.id);
  });

  test('names are checked; an empty file is refused; a discarded upload is gone', async () => {
    const ann = await w.as('ann');
    for (const name of [
      '',
      '../',
      'a/b',
      'a\u202egpj.exe',
      'x'.repeat(256),
      'a\u0000b',
      '\u200b',
      '\u0301',
      'a\u2028b',
    ]) {
      const r = await upload(w.base(), ann, name, PDF);
      assert.equal(r.status, 400, name);
      assert.equal(r.json.error.code, 'UPLOAD_NAME_INVALID');
    }
    const empty = await upload(w.base(), ann, 'e.txt', Buffer.alloc(0));
    assert.equal(empty.json.error.code, 'UPLOAD_EMPTY');
    const up = await w.put('ann', 'gone.pdf', PDF);
    assert.equal((await w.call('bob', 'DELETE', `/uploads/${up.id}`)).status, 404);
    assert.equal((await w.call('ann', 'DELETE', `/uploads/${up.id}`)).status, 204);
    assert.equal((await w.get('ann', up.id)).status, 404);
    assert.equal((await w.send('ann', 'bob', [up.id])).json.error.code, 'UPLOAD_UNUSABLE');
  });

  test('the classic stream shows a file as its name and URL', async () => {
    const up = await w.put('ann', 'notes.pdf', PDF);
    const classic = await SseClient.open(w.base(), '/zed', await w.as('zed'));
    await classic.waitFor((c) => c.events.some((e) => e.data.startsWith('now online')));
    assert.equal((await w.send('ann', 'all', [up.id], 'see')).status, 201);
    await classic.waitFor((c) => c.events.some((e) => e.data.includes('notes.pdf')));
    const line = classic.events.find((e) => e.data.includes('notes.pdf'))?.data;
    assert.equal(line, `ann to all: see [notes.pdf: /api/v1/uploads/${up.id}]`);
    classic.close();
  });
});

describe('uploads: limits and collection', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ssechat-uploads-'));
  const w = world({
    maxUploadBytes: 10_000,
    uploadQuotaBytes: 25_000,
    uploadUnsentTtl: 1,
    dataDir,
  });
  before(w.start);
  after(async () => {
    await w.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  /** Whether the disk blob store holds these bytes (a file named by their sha256). */
  const stored = (bytes: Buffer): boolean => {
    const key = createHash('sha256').update(bytes).digest('hex');
    return filesUnder(join(dataDir, 'blobs')).some((f) => f.endsWith(key));
  };

  test('an upload over the cap is cut off while it streams, declared or not', async () => {
    const ann = await w.as('ann');
    const declared = await upload(w.base(), ann, 'big.bin', Buffer.alloc(20_000));
    assert.equal(declared.status, 413);
    assert.equal(declared.json.error.code, 'UPLOAD_TOO_LARGE');
    assert.equal(declared.headers.connection, 'close');
    // Chunked, with no length: the server reads past the cap only by what one chunk holds.
    let sent = 0;
    const endless = new Readable({
      read() {
        sent += 4096;
        this.push(sent > 10_000_000 ? null : Buffer.alloc(4096, 1));
      },
    });
    const path = `/api/v1/uploads?name=${encodeURIComponent('endless.bin')}`;
    const r = await exchange(w.base(), 'POST', path, { ...ann }, endless).catch(() => undefined);
    if (r) {
      assert.equal(r.status, 413);
      assert.equal(r.json.error.code, 'UPLOAD_TOO_LARGE');
    }
    assert.ok(sent < 10_000_000, 'the server stopped reading');
  });

  test('the quota counts what a user keeps; deleting frees it', async () => {
    const a = await w.put('ann', 'a.bin', Buffer.alloc(9_000, 1));
    const b = await w.put('ann', 'b.bin', Buffer.alloc(9_000, 2));
    const over = await upload(w.base(), await w.as('ann'), 'c.bin', Buffer.alloc(9_000, 3));
    assert.equal(over.status, 413);
    assert.equal(over.json.error.code, 'UPLOAD_QUOTA_EXCEEDED');
    const sent = await w.send('ann', 'bob', [a.id, b.id]);
    assert.equal(sent.status, 201);
    assert.equal((await w.call('ann', 'DELETE', `/messages/${sent.json.id}`)).status, 200);
    assert.equal((await w.get('bob', a.id)).status, 404);
    assert.equal((await w.put('ann', 'c.bin', Buffer.alloc(9_000, 3))).size, 9_000);
  });

  test('unsent uploads expire, and deleted messages’ bytes leave the disk', async () => {
    const orphan = Buffer.alloc(5_000, 9);
    const sentBytes = Buffer.alloc(5_000, 8);
    const up = await w.put('cat', 'orphan.bin', orphan);
    const kept = await w.put('cat', 'kept.bin', sentBytes);
    const sent = await w.send('cat', 'dan', [kept.id]);
    assert.equal(sent.status, 201);
    assert.ok(stored(orphan) && stored(sentBytes));
    const gone = async () => (await w.get('cat', up.id)).status === 404;
    await waitUntil('the unsent upload expires', gone, 10_000, 100);
    await waitUntil('its bytes go', () => !stored(orphan), 10_000, 100);
    assert.equal((await w.get('dan', kept.id)).status, 200);
    assert.ok(stored(sentBytes));
    assert.equal((await w.call('cat', 'DELETE', `/messages/${sent.json.id}`)).status, 200);
    assert.equal((await w.get('dan', kept.id)).status, 404);
    await waitUntil('the deleted message’s bytes go', () => !stored(sentBytes), 10_000, 100);
  });
});

/** Files under `dir`, recursively (the disk blob store's shards). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

describe('uploads: open mode', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ auth: 'open', ...NO_LIMITS });
  });
  after(() => server.close());

  test('one address cannot multiply its uploads by claiming more nicks', async () => {
    const statuses: number[] = [];
    const sessions = [];
    for (const nick of ['claim0', 'claim1', 'claim2'])
      sessions.push(await session(server.url, nick));
    for (let n = 0; n < 121; n++) {
      const auth = sessions[Math.floor(n / 50)] ?? {};
      const r = await upload(server.url, auth, `f${n}.txt`, Buffer.from(`file ${n}`));
      statuses.push(r.status);
      if (r.status !== 201) {
        assert.equal(r.json.error.code, 'CHAT_RATE_LIMITED');
        assert.ok(Number(r.headers['retry-after']) > 0);
      }
    }
    assert.deepEqual(statuses.slice(0, 120), Array(120).fill(201));
    assert.equal(statuses[120], 429);
  });
});
