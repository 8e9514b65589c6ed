import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { silentLogger } from '../logger.js';
import { Webhooks } from './webhooks.js';

test('notices are POSTed in order, signed, and retried after a failure', async () => {
  const got: Array<{ body: string; headers: IncomingMessage['headers'] }> = [];
  let failFirst = true;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (failFirst) {
        failFirst = false;
        res.writeHead(503).end();
        return;
      }
      got.push({ body, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const secret = 'a secret of sixteen+';
  const hooks = new Webhooks({
    url: `http://127.0.0.1:${port}/hook`,
    secret,
    logger: silentLogger,
  });
  try {
    hooks.notify('online', 'ann');
    hooks.notify('offline', 'ann');
    const deadline = Date.now() + 5_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 20));
    assert.deepEqual(
      got.map((g) => JSON.parse(g.body).type),
      ['online', 'offline'],
    );
    for (const { body, headers } of got) {
      const ts = String(headers['x-ssechat-timestamp']);
      assert.equal(headers['x-ssechat-signature'], Webhooks.sign(secret, ts, body));
      assert.equal(JSON.parse(body).user, 'ann');
    }
  } finally {
    hooks.close();
    server.close();
  }
});
