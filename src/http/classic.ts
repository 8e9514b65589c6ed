import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatError } from '../domain/errors.js';
import type { StoreOutageLog } from '../ops/store-outage-log.js';
import type { Auth } from './auth.js';
import { ClassicFormat } from './classic-format.js';
import { requireOwnConnection, type StreamDeps, StreamOpener } from './open-stream.js';
import { sendEmpty, sendError } from './reply.js';
import { setRequestUser } from './request-context.js';

/**
 * Decodes a path segment of the seed's protocol the way its clients encode it. PHP's
 * urldecode turned `+` into a space, so we do too. The seed's page encodes with JavaScript's
 * legacy escape(), which writes `%uXXXX` for non-Latin-1 characters and single `%XX` bytes for
 * Latin-1 ones; modern clients send UTF-8 percent-encoding. We take UTF-8 when it is valid and
 * fall back to escape()'s encoding otherwise, so both old and new pages work.
 */
export function decodeClassic(raw: string): string {
  const s = raw.includes('+') ? raw.replaceAll('+', ' ') : raw;
  if (!s.includes('%')) return s;
  if (!s.includes('%u')) {
    try {
      return decodeURIComponent(s);
    } catch {
      // Not UTF-8: fall through to escape()'s encoding.
    }
  }
  return unescape(s);
}

/** The parts of `/msg/<from>/<to>%20<text>`, decoded but not yet validated. */
export interface ClassicMessage {
  readonly from: string;
  readonly to: string;
  readonly text: string;
}

/**
 * Splits what follows `/msg/`. As in the seed, the sender ends at the first `/`, and the rest
 * (slashes, `?` and all) is decoded and split at its first space. Where the seed silently
 * ignored a request with no space after the recipient, we answer 400.
 */
export function parseClassicMessage(rest: string): ClassicMessage {
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) {
    throw new ChatError('CHAT_MESSAGE_MALFORMED', 'expected /msg/<from>/<to>%20<text>');
  }
  const tail = decodeClassic(rest.slice(slash + 1));
  const space = tail.indexOf(' ');
  if (space <= 0) {
    throw new ChatError(
      'CHAT_MESSAGE_MALFORMED',
      'expected a recipient, then a space (%20), then the text',
    );
  }
  return {
    from: decodeClassic(rest.slice(0, slash)),
    to: tail.slice(0, space),
    text: tail.slice(space + 1),
  };
}

/** What the classic front door needs. */
export interface ClassicDeps extends StreamDeps {
  readonly auth: Auth;
  /** Where a send refused for a store that cannot write is counted (reply.ts). */
  readonly storeOutage: StoreOutageLog;
}

/**
 * The seed's protocol, as a thin front door onto the chat service: `GET /<nick>` opens a
 * stream, `GET /msg/...` sends. Everything else (routing, limits) is the router's.
 */
export class ClassicProtocol {
  private readonly format = new ClassicFormat();
  private readonly streams: StreamOpener;

  constructor(private readonly deps: ClassicDeps) {
    this.streams = new StreamOpener(deps, 'classic');
  }

  /**
   * `GET /msg/<from>/<to>%20<text>`: answers 204 once the message is durable and published.
   * It changes state through a GET, so it gets the same cross-site check as the API's POSTs;
   * in accounts mode the session must be `<from>`'s.
   */
  async send(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    try {
      const { chat, auth } = this.deps;
      auth.checkSameOrigin(req);
      const { from, to, text } = parseClassicMessage(rest);
      const sender = chat.parseNick(from);
      if (auth.accountsMode) await this.requireUser(req, sender);
      else setRequestUser(req, sender);
      await this.deps.admission.send(req, sender);
      const { created } = await chat.send(from, to, text);
      if (created) this.deps.stats.messagesIn.classic++;
      sendEmpty(res, 204);
    } catch (err) {
      sendError(res, err, this.deps.logger, this.deps.storeOutage);
    }
  }

  /**
   * `GET /<nick>` with `Accept: text/event-stream`: logs a stream in. In accounts mode the
   * session (or a `?ticket=`) must be `<nick>`'s.
   */
  async stream(
    req: IncomingMessage,
    res: ServerResponse,
    rawNick: string,
    query: URLSearchParams,
  ): Promise<void> {
    requireOwnConnection(res);
    const { chat, auth } = this.deps;
    const nick = chat.parseNick(decodeClassic(rawNick));
    let credential: string | undefined;
    if (auth.accountsMode) {
      const ticket = query.get('ticket');
      const identity = ticket === null ? await auth.identify(req) : await auth.redeemTicket(ticket);
      if (identity?.nick !== nick) throw forbidden(identity?.nick);
      credential = identity.credential.id;
    }
    await this.deps.admission.connect(req, nick);
    this.streams.open({
      req,
      res,
      nick,
      format: this.format,
      credential,
      // The seed's clients expect "has left" at once: no grace window here.
      graceMs: 0,
      start: (sub, greeting) => sub.open(this.format.greeting(nick, greeting)),
    });
  }

  /** Throws AUTH_FORBIDDEN unless the request's session acts as `nick`. */
  private async requireUser(req: IncomingMessage, nick: string): Promise<void> {
    const acting = (await this.deps.auth.identify(req))?.nick;
    if (acting !== nick) throw forbidden(acting);
  }
}

/** The answer when a session may not act as the nick it names. */
function forbidden(acting: string | undefined): ChatError {
  return new ChatError(
    'AUTH_FORBIDDEN',
    acting ? `you are logged in as ${acting}` : 'log in first',
  );
}
