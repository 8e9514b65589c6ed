/**
 * Files in a cluster (issue 20): three ssechat processes on one PostgreSQL schema (the blobs
 * too: `--blob-store auto` is postgres with `--store postgres`) and one Redis. A file uploaded
 * on one process is served by every other one to whoever may see its message, to nobody else,
 * and to nobody once that message is deleted, whichever process deleted it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import sharp from 'sharp';
import { killNode, type Node, PrivateRedis, spawnNode } from './cluster-kit.js';
import { api, NO_LIMIT_FLAGS, SseClient, session } from './helpers.js';
import { fetchFile, upload } from './upload-client.js';

const DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `ssechat_files_${process.pid}_${randomBytes(3).toString('hex')}`;
const PASSWORD = 'correct horse battery';
const PDF = Buffer.from(
  `%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n${randomBytes(20_000).toString('base64')}\n%%EOF\n`,
);

let redis: PrivateRedis;
const nodes: Node[] = [];

/** Starts one node of the cluster, in accounts mode; resolves once it listens. */
function startNode(): Promise<Node> {
  return spawnNode([
    ...['--port', '0', '--auth', 'accounts', '--store', 'postgres'],
    ...['--database-url', DATABASE_URL, '--database-schema', SCHEMA],
    ...['--bus', 'redis', '--redis-url', redis.url, '--redis-prefix', `${SCHEMA}:`],
    ...['--presence-grace-ms', '0', ...NO_LIMIT_FLAGS],
  ]);
}

before(async () => {
  redis = await PrivateRedis.start();
  // The first node creates the schema; the others find it migrated.
  nodes.push(await startNode());
  nodes.push(...(await Promise.all([startNode(), startNode()])));
});

after(async () => {
  await Promise.all(nodes.map((n) => killNode(n, 'SIGKILL')));
  await redis.stop();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.end();
});

/** A PNG of noise (so its re-encoded copy is not trivially small), 640x480. */
function noisePng(): Promise<Buffer> {
  return sharp({
    create: {
      width: 640,
      height: 480,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .png()
    .toBuffer();
}

test('a file uploaded on A is served by B and C to the recipient, to no one else, and to no one once deleted', {
  timeout: 60_000,
}, async () => {
  const [a, b, c] = nodes as [Node, Node, Node];
  // Registered on A, logged in where each one works: sessions live in the shared store.
  for (const nick of ['alice', 'bob', 'carol']) await session(a.url, nick, PASSWORD, true);
  const alice = await session(a.url, 'alice', PASSWORD);
  const bob = await session(b.url, 'bob', PASSWORD);
  const carol = await session(b.url, 'carol', PASSWORD);

  const stream = await SseClient.open(b.url, '/api/v1/events', bob);
  try {
    await stream.waitFor((x) => x.of('hello').length === 1, 5_000);

    const png = await noisePng();
    const image = await upload(a.url, alice, 'noise.png', png);
    assert.equal(image.status, 201, image.body.toString());
    const pdf = await upload(a.url, alice, 'plan.pdf', PDF);
    assert.equal(pdf.status, 201, pdf.body.toString());
    const img = image.json.upload;
    const doc = pdf.json.upload;
    assert.deepEqual([img.type, img.width, img.height], ['image/png', 640, 480]);
    assert.deepEqual([doc.type, doc.size], ['application/pdf', PDF.length]);

    const sent = await api(
      a.url,
      'POST',
      '/api/v1/messages',
      { to: 'bob', text: 'two files', attachments: [img.id, doc.id] },
      alice,
    );
    assert.equal(sent.status, 201, sent.body);
    await stream.waitFor((x) => x.of('message').length === 1, 5_000);
    const [event] = stream.of('message');
    assert.equal(event.id, sent.json.id);
    assert.deepEqual(event.attachments, [img, doc]);

    // The image is re-encoded on A: what A serves is the reference for B and C.
    const fromA = await fetchFile(a.url, alice, img.id);
    const thumbFromA = await fetchFile(a.url, alice, img.id, true);
    assert.equal(fromA.status, 200);
    assert.equal(fromA.body.length, img.size);
    assert.equal(thumbFromA.status, 200);
    assert.equal(thumbFromA.headers['content-type'], 'image/webp');
    for (const via of [b, c]) {
      const bobThere = via === b ? bob : await session(c.url, 'bob', PASSWORD);
      const file = await fetchFile(via.url, bobThere, img.id);
      assert.equal(file.status, 200, `image from ${via.url}`);
      assert.equal(file.headers['content-type'], 'image/png');
      assert.ok(file.body.equals(fromA.body), `image bytes from ${via.url}`);
      const thumb = await fetchFile(via.url, bobThere, img.id, true);
      assert.equal(thumb.status, 200, `thumbnail from ${via.url}`);
      assert.ok(thumb.body.equals(thumbFromA.body), `thumbnail bytes from ${via.url}`);
      const t = await sharp(thumb.body).metadata();
      assert.deepEqual([t.format, t.width, t.height], ['webp', 400, 300]);
      const other = await fetchFile(via.url, bobThere, doc.id);
      assert.equal(other.status, 200, `pdf from ${via.url}`);
      assert.equal(other.headers['content-type'], 'application/pdf');
      assert.match(String(other.headers['content-disposition']), /^attachment; /);
      assert.ok(other.body.equals(PDF), `pdf bytes from ${via.url}`);
      assert.equal((await fetchFile(via.url, bobThere, doc.id, true)).status, 404, 'no pdf thumb');
    }

    // Carol sees no message that carries them.
    for (const id of [img.id, doc.id]) {
      assert.equal((await fetchFile(b.url, carol, id)).status, 404);
      assert.equal((await fetchFile(b.url, carol, id, true)).status, 404);
    }

    // Deleted on B, gone on A: the check is the store's, not a cache of a process.
    const aliceOnB = await session(b.url, 'alice', PASSWORD);
    const del = await api(b.url, 'DELETE', `/api/v1/messages/${sent.json.id}`, undefined, aliceOnB);
    assert.equal(del.status, 200, del.body);
    const bobOnA = await session(a.url, 'bob', PASSWORD);
    for (const id of [img.id, doc.id]) {
      assert.equal((await fetchFile(a.url, bobOnA, id)).status, 404);
      assert.equal((await fetchFile(a.url, alice, id)).status, 404);
    }
    assert.equal((await fetchFile(a.url, bobOnA, img.id, true)).status, 404);
    // Bob's stream on B is told, as every process's streams are.
    await stream.waitFor((x) => x.of('delete').length === 1, 5_000);
  } finally {
    stream.close();
  }
});
