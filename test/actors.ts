import assert from 'node:assert/strict';
import { api, type JsonReply, SseClient, session } from './helpers.js';

/**
 * The users of one test server, by nick: each logs in (open mode) on first use, and its API
 * calls and streams carry that session. Set `base` once the server listens; `closeStreams()`
 * when the server is done. The members are arrow functions, so a suite may destructure them.
 */
export class Actors {
  /** The server's URL. */
  base = '';
  /** Every stream opened through `stream`, to close at the end. */
  readonly streams: SseClient[] = [];
  /**
   * Behind a server with `trustProxy: 'yes'`: each nick calls from an X-Forwarded-For address
   * of its own, so that per-address limits (open-mode room creations) count each apart.
   */
  ownAddresses = false;
  private readonly cookies = new Map<string, Record<string, string>>();

  /** The session headers of `nick`, logging them in the first time. */
  readonly as = async (nick: string): Promise<Record<string, string>> => {
    let c = this.cookies.get(nick);
    if (!c) {
      c = this.ownAddresses ? await this.loginFromOwnAddress(nick) : await session(this.base, nick);
      this.cookies.set(nick, c);
    }
    return c;
  };

  /** Logs `nick` in from an address of its own (logins are limited per address too). */
  private async loginFromOwnAddress(nick: string): Promise<Record<string, string>> {
    const n = this.cookies.size;
    const from = { 'X-Forwarded-For': `10.9.${n >> 8}.${n & 255}` };
    const reply = await api(this.base, 'POST', '/api/v1/session', { nick }, from);
    assert.equal(reply.status, 201, reply.body);
    return { ...from, Cookie: String(reply.headers['set-cookie']?.[0]).split(';')[0] ?? '' };
  }

  /** A JSON API call as `nick`; `path` is below `/api/v1`. */
  readonly call = async (
    nick: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<JsonReply> => api(this.base, method, `/api/v1${path}`, body, await this.as(nick));

  /** Opens `nick`'s event stream (resuming from `lastEventId`) and waits for its `hello`. */
  readonly stream = async (nick: string, lastEventId?: string): Promise<SseClient> => {
    const headers = {
      ...(await this.as(nick)),
      ...(lastEventId && { 'Last-Event-ID': lastEventId }),
    };
    const s = await SseClient.open(this.base, '/api/v1/events', headers);
    this.streams.push(s);
    await s.waitFor((c) => c.of('hello').length > 0);
    return s;
  };

  /** Sends `text` from `nick` to `to` and returns its id; fails the test unless it is 201. */
  readonly say = async (nick: string, to: string, text: string): Promise<number> => {
    const reply = await this.call(nick, 'POST', '/messages', { to, text });
    assert.equal(reply.status, 201, reply.body);
    return reply.json.id;
  };

  /** Closes every stream opened so far. */
  closeStreams(): void {
    for (const s of this.streams) s.close();
  }
}

/** The texts of the `message` events a stream got, in order. */
export const texts = (s: SseClient): string[] => s.of('message').map((m) => m.text);
