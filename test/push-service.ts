/**
 * A push service for tests, on loopback: what Google's, Mozilla's or Apple's would do with a
 * push, checked the way they check it, plus the decryption only the browser can do. For each
 * POST it verifies the VAPID Authorization header (RFC 8292: an ES256 JWT whose `aud` is the
 * endpoint's origin, `exp` in the future and at most 24 h away, `sub` the subject, signed by
 * the key `k`), decrypts the body (RFC 8291 aes128gcm) with the subscription's own private key
 * and auth secret, written here with node:crypto alone (not web-push, which encrypted it),
 * and records the plaintext. It can be told to answer a status, or never to answer.
 */
import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  type ECDH,
  hkdfSync,
  randomBytes,
  verify,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A browser's side of one subscription: its key pair and auth secret. */
export interface FakeBrowser {
  /** PushSubscription.toJSON(), as the browser would POST it to the chat server. */
  readonly json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
  readonly ecdh: ECDH;
  readonly auth: Buffer;
}

/** One push the service received and accepted as well-formed. */
export interface ReceivedPush {
  /** The subscription's id (the last path segment). */
  readonly id: string;
  /** The decrypted payload. */
  readonly plaintext: string;
  readonly headers: IncomingMessage['headers'];
  /** The VAPID JWT's claims. */
  readonly claims: { aud: string; exp: number; sub: string };
  /** The VAPID public key (`k`). */
  readonly k: string;
}

/** What to do with the next pushes: answer a status, or hold the request open forever. */
export type Behaviour = number | 'hang';

/** See the top of this file. */
export class FakePushService {
  /** Pushes received and verified, in order of arrival. */
  readonly received: ReceivedPush[] = [];
  /** Requests that failed a check, with the reason: a test expects none. */
  readonly rejected: string[] = [];
  /** Every request seen, verified or not (for counting attempts). */
  requests = 0;
  private readonly browsers = new Map<string, FakeBrowser>();
  private readonly behaviours = new Map<string, Behaviour[]>();
  private readonly held = new Set<IncomingMessage>();
  private next = 0;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    /** e.g. http://127.0.0.1:40123 */
    readonly origin: string,
    /** The VAPID subject every push must carry. */
    private readonly subject: string,
  ) {}

  /** Starts a service on 127.0.0.1 and a free port, expecting `subject` in every JWT. */
  static async start(subject: string, host = '127.0.0.1'): Promise<FakePushService> {
    let service: FakePushService | undefined;
    const server = createServer((req, res) => {
      void (service as FakePushService).handle(req).then(
        (status) => {
          if (status === 'hang') return;
          res.writeHead(status, status === 429 ? { 'Retry-After': '0' } : {}).end();
        },
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((ok) => server.listen(0, host, ok));
    const { port } = server.address() as AddressInfo;
    service = new FakePushService(server, `http://${host}:${port}`, subject);
    return service;
  }

  /**
   * A new browser subscription on this service: `origin` replaces the service's own (to give
   * the endpoint a host name, e.g. `http://localhost:<port>`).
   */
  browser(origin = this.origin): FakeBrowser {
    const id = `sub${++this.next}`;
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const browser: FakeBrowser = {
      json: {
        endpoint: `${origin}/push/${id}`,
        expirationTime: null,
        keys: {
          p256dh: ecdh.getPublicKey().toString('base64url'),
          auth: auth.toString('base64url'),
        },
      },
      ecdh,
      auth,
    };
    this.browsers.set(id, browser);
    return browser;
  }

  /** Makes the next pushes to `browser` answer these, in order (then 201 again). */
  answer(browser: FakeBrowser, ...behaviours: Behaviour[]): void {
    this.behaviours.set(idOf(browser.json.endpoint), behaviours);
  }

  /** Resolves once `count` pushes were received (or rejected). */
  async waitFor(count: number, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length + this.rejected.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`waited for ${count} pushes, got ${this.received.length}`);
      }
      await new Promise<void>((ok) => {
        this.waiters.push(ok);
        setTimeout(ok, 50);
      });
    }
  }

  /** Closes the service, cutting held requests. */
  async close(): Promise<void> {
    for (const req of this.held) req.socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  private async handle(req: IncomingMessage): Promise<Behaviour> {
    this.requests++;
    const body = await readBody(req);
    const id = idOf(req.url ?? '');
    const planned = this.behaviours.get(id)?.shift();
    if (planned === 'hang') {
      this.held.add(req);
      return 'hang';
    }
    try {
      if (req.method !== 'POST') throw new Error(`method ${req.method}`);
      const browser = this.browsers.get(id);
      if (!browser) throw new Error(`unknown subscription ${id}`);
      const { claims, k } = this.checkVapid(req, new URL(browser.json.endpoint).origin);
      if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm');
      if (!/^\d+$/.test(String(req.headers.ttl))) throw new Error('no TTL');
      const plaintext = decrypt(body, browser).toString('utf8');
      this.received.push({ id, plaintext, headers: req.headers, claims, k });
    } catch (err) {
      this.rejected.push((err as Error).message);
      this.wake();
      return 400;
    }
    this.wake();
    return planned ?? 201;
  }

  private wake(): void {
    for (const ok of this.waiters.splice(0)) ok();
  }

  /** Checks `Authorization: vapid t=<jwt>, k=<key>` as RFC 8292 §3 says; throws if wrong. */
  private checkVapid(
    req: IncomingMessage,
    audience: string,
  ): { claims: ReceivedPush['claims']; k: string } {
    const header = req.headers.authorization ?? '';
    const m = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)$/.exec(
      header,
    );
    if (!m) throw new Error(`bad Authorization: ${header}`);
    const [jwt, k] = [m[1] as string, m[2] as string];
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const head = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    if (head.alg !== 'ES256') throw new Error(`alg ${head.alg}`);
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 0x04) throw new Error('k is not a P-256 point');
    // Like isP256PublicKey in vapid.ts on purpose: a push service checks on its own, so a bug
    // in the code under test cannot make its own pushes verify.
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
    const signed = verify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(s, 'base64url'),
    );
    if (!signed) throw new Error('JWT signature does not verify with k');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (claims.aud !== audience) throw new Error(`aud ${claims.aud}, not ${audience}`);
    const now = Date.now() / 1000;
    if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) throw new Error('exp out of range');
    if (claims.sub !== this.subject) throw new Error(`sub ${claims.sub}`);
    return { claims, k };
  }
}

/**
 * Decrypts an RFC 8291 message (one RFC 8188 aes128gcm record) as the browser would:
 * header salt(16) | rs(4) | idlen(1) | keyid = the server's ephemeral public key (65), then
 * the record, whose plaintext ends with the delimiter 0x02 and zero padding.
 */
export function decrypt(body: Buffer, browser: FakeBrowser): Buffer {
  if (body.length < 21) throw new Error('body too short');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20] as number;
  if (idlen !== 65) throw new Error(`keyid length ${idlen}`);
  const serverKey = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  if (record.length > rs || record.length < 17) throw new Error('not one record');
  const uaPublic = browser.ecdh.getPublicKey();
  const ecdhSecret = browser.ecdh.computeSecret(serverKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, serverKey]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, browser.auth, keyInfo, 32));
  const cek = Buffer.from(
    hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16),
  );
  const nonce = Buffer.from(
    hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12),
  );
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([
    decipher.update(record.subarray(0, record.length - 16)),
    decipher.final(),
  ]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 0x02) throw new Error('no last-record delimiter');
  return padded.subarray(0, end);
}

function idOf(path: string): string {
  return path.split('/').pop() ?? '';
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => ok(Buffer.concat(chunks)));
    req.once('error', fail);
  });
}
