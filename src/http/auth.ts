import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyPassword } from '../auth/passwords.js';
import { RateLimiter } from '../auth/rate-limit.js';
import { hashSecret } from '../auth/secrets.js';
import { type Issued, Users } from '../auth/users.js';
import type { Config } from '../config.js';
import { ChatError } from '../domain/errors.js';
import type { RegistrationGate } from '../domain/registration.js';
import type { AccountStore, Credential, NewUserOptions } from '../store/accounts.js';
import { addressKey } from './admission.js';
import { ClaimedLimit, OPEN_TICKETS, OPEN_TOKENS } from './claimed-limit.js';
import { setRequestUser } from './request-context.js';
import { checkSameSite } from './same-site.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'ssechat_session';
/** A browser session lasts this long after login, then the user logs in again. */
const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** A stream ticket must be redeemed this soon after it was issued, and only once. */
export const TICKET_TTL_MS = 30_000;

// Brute force: each client address may try this many logins, registrations and open-mode
// sessions per window; each account may fail this many logins per window from one address,
// and this many in all. The per-address cap is below the account-wide one, so that a single
// address cannot lock a user out of their own account. Memory is bounded by maxKeys (the
// least recently used key is forgotten first).
const PER_IP = { limit: 100, windowMs: 10 * 60_000, maxKeys: 100_000 };
const PER_ACCOUNT_AND_IP_FAILURES = { limit: 10, windowMs: 10 * 60_000, maxKeys: 100_000 };
const PER_ACCOUNT_FAILURES = { limit: 300, windowMs: 10 * 60_000, maxKeys: 100_000 };
/**
 * Sessions and tokens looked up in the Store are remembered this long, for at most
 * CREDENTIAL_CACHE_SIZE of them, so that a busy client does not cost a Store read per request
 * (it was about a sixth of a keep-alive send). Revoking on this process clears the cache at
 * once; another process of a cluster may accept a revoked credential for up to this long,
 * except after a user was ended everywhere (deleted; see forgetUser), which every process
 * hears on the Bus.
 */
const CREDENTIAL_CACHE_MS = 10_000;
const CREDENTIAL_CACHE_SIZE = 10_000;
/** Stream tickets one user may hold unredeemed (each lives TICKET_TTL_MS). */
const MAX_TICKETS_PER_USER = 20;

/** Who made a request, and with which credential. */
export interface Identity {
  readonly nick: string;
  readonly credential: Credential;
}

/** What the auth edge needs. */
export interface AuthDeps {
  readonly accounts: AccountStore;
  readonly config: Pick<Config, 'auth' | 'cookieSecure' | 'trustProxy'>;
  readonly now?: () => number;
  /** Refuses a banned account (core/sanctions.ts: AUTH_BANNED); absent: none are. */
  readonly bans?: { requireNotBanned(nick: string): Promise<void> };
  /** Refuses a banned address (address-bans.ts: AUTH_ADDRESS_BANNED); absent: none is. */
  readonly addressBans?: { check(req: IncomingMessage): void };
}

/**
 * Authentication at the HTTP edge: sessions in an HttpOnly cookie, bearer tokens for bots,
 * single-use tickets for cross-origin EventSource, and the checks against cross-site requests
 * and password guessing. Secrets are random and only their hashes are stored.
 */
export class Auth {
  private readonly now: () => number;
  /** The account rules, shared with the command line. */
  private readonly users: Users;
  private readonly perIp = new RateLimiter(PER_IP);
  private readonly perAccountAndIp = new RateLimiter(PER_ACCOUNT_AND_IP_FAILURES);
  private readonly perAccount = new RateLimiter(PER_ACCOUNT_FAILURES);
  private readonly openTokens = new ClaimedLimit(OPEN_TOKENS, 'tokens');
  private readonly openTickets = new ClaimedLimit(OPEN_TICKETS, 'tickets');
  /** Secret hash → a session or token credential and when it was read (see above). */
  private readonly cache = new Map<string, { credential: Credential; at: number }>();

  constructor(private readonly deps: AuthDeps) {
    this.now = deps.now ?? Date.now;
    this.users = new Users(deps.accounts, this.now);
  }

  /** True when users must register and log in with a password. */
  get accountsMode(): boolean {
    return this.deps.config.auth === 'accounts';
  }

  /** The identity of a request's bearer token or session cookie, if it has a valid one. */
  async identify(req: IncomingMessage): Promise<Identity | undefined> {
    const bearer = bearerToken(req);
    const secret = bearer ?? cookie(req, SESSION_COOKIE);
    if (secret === undefined) return undefined;
    const credential = await this.lookup(hashSecret(secret));
    // A ticket is for one stream, never for the API; a token is only valid as a bearer.
    if (!credential || credential.kind === 'ticket') return undefined;
    if ((bearer !== undefined) !== (credential.kind === 'token')) return undefined;
    setRequestUser(req, credential.nick);
    return { nick: credential.nick, credential };
  }

  /** A credential by the hash of its secret, from the cache when it is fresh. */
  private async lookup(hash: string): Promise<Credential | undefined> {
    const now = this.now();
    const hit = this.cache.get(hash);
    if (hit && now - hit.at < CREDENTIAL_CACHE_MS) {
      const { expires } = hit.credential;
      return expires === 0 || expires >= now ? hit.credential : undefined;
    }
    const credential = await this.deps.accounts.credential(hash, now);
    // Tickets are single-use and never looked up here; unknown secrets are not remembered,
    // so guessing cannot fill the cache.
    if (credential && credential.kind !== 'ticket') {
      if (this.cache.size >= CREDENTIAL_CACHE_SIZE) {
        this.cache.delete(this.cache.keys().next().value as string);
      }
      this.cache.set(hash, { credential, at: now });
    } else {
      this.cache.delete(hash);
    }
    return credential;
  }

  /** Forgets every remembered credential: something was revoked. */
  private forget(): void {
    this.cache.clear();
  }

  /**
   * Forgets the remembered credentials of `nick`: every one of them ended on some process of
   * the cluster (ChatService.onEnded), which must not be trusted here for the rest of
   * CREDENTIAL_CACHE_MS.
   */
  forgetUser(nick: string): void {
    for (const [hash, hit] of this.cache) if (hit.credential.nick === nick) this.cache.delete(hash);
  }

  /** Like identify, or throws AUTH_REQUIRED (401). */
  async require(req: IncomingMessage): Promise<Identity> {
    const identity = await this.identify(req);
    if (!identity) throw new ChatError('AUTH_REQUIRED');
    return identity;
  }

  /**
   * Refuses a state-changing request that a browser sent on behalf of another site (CSRF);
   * see checkSameSite. A bearer-token request is exempt: a browser never attaches a token by
   * itself.
   */
  checkSameOrigin(req: IncomingMessage): void {
    if (bearerToken(req) !== undefined) return;
    checkSameSite(req, this.deps.config.trustProxy === 'yes');
  }

  /**
   * Registers an account (accounts mode) and logs the client in. `gate`: the registration
   * mode and invite (Registration.gate), checked in the account's transaction; `admits`
   * refuses it early, before the password is hashed (a refusal costs no scrypt). The attempt
   * counts against the address's limit first, so a wrong invite does too.
   */
  async register(
    req: IncomingMessage,
    res: ServerResponse,
    nick: string,
    password: unknown,
    gate: RegistrationGate,
    admits: () => Promise<void>,
  ) {
    if (!this.accountsMode) throw new ChatError('AUTH_ACCOUNTS_ONLY');
    this.deps.addressBans?.check(req);
    this.limitAddress(req);
    // A banned account's nick is taken anyway; say why.
    await this.deps.bans?.requireNotBanned(nick);
    await admits();
    await this.users.create(nick, password, { gate });
    return this.startSession(req, res, nick);
  }

  /**
   * Makes an account for someone else (an admin, `POST /api/v1/admin/users`), in any
   * registration mode; nobody is signed in. Accounts mode only.
   */
  async createAccount(nick: string, password: unknown, options: NewUserOptions): Promise<void> {
    if (!this.accountsMode) throw new ChatError('AUTH_ACCOUNTS_ONLY');
    await this.users.create(nick, password, options);
  }

  /**
   * Logs a client in: with a password in accounts mode, with the nick alone in open mode
   * (where, as in the seed, nobody owns a nick). Sets the session cookie. In accounts mode a
   * nick in any ASCII letter case signs in as the account, like registration refuses it in
   * any case; returns the nick the session is for (the account's, as registered).
   */
  async login(
    req: IncomingMessage,
    res: ServerResponse,
    nick: string,
    password: unknown,
  ): Promise<string> {
    this.deps.addressBans?.check(req);
    const address = this.limitAddress(req);
    let user = nick;
    if (this.accountsMode) {
      user = (await this.deps.accounts.canonicalNick(nick)) ?? nick;
      await this.checkPassword(user, address, password);
    }
    const { credential } = await this.startSession(req, res, user);
    // Checked after the session exists (and only for the right password): a ban committed
    // before this read is seen here, and one committed after it deleted this session.
    if (this.accountsMode && this.deps.bans) {
      try {
        await this.deps.bans.requireNotBanned(user);
      } catch (err) {
        await this.deps.accounts.revoke(user, credential.id);
        res.removeHeader('Set-Cookie');
        throw err;
      }
    }
    return user;
  }

  /**
   * Verifies a password under the guessing limits: once an account has failed too often
   * (from this address, or in all), every attempt waits, the right password included, or the
   * limit would only slow the guesses down.
   */
  private async checkPassword(nick: string, address: string, password: unknown): Promise<void> {
    const account = nick.toLowerCase();
    const pair = `${account} ${address}`;
    const now = this.now();
    const wait = Math.max(
      this.perAccountAndIp.check(pair, now),
      this.perAccount.check(account, now),
    );
    if (wait > 0) throw rateLimited(wait);
    const stored = await this.deps.accounts.passwordHash(nick);
    if (typeof password === 'string' && (await verifyPassword(password, stored))) return;
    this.perAccountAndIp.hit(pair, now);
    this.perAccount.hit(account, now);
    throw new ChatError('AUTH_FAILED');
  }

  /** Ends the session of this request and clears its cookie. */
  async logout(req: IncomingMessage, res: ServerResponse, identity: Identity): Promise<void> {
    await this.deps.accounts.revoke(identity.nick, identity.credential.id);
    this.forget();
    res.setHeader('Set-Cookie', this.cookieHeader(req, '', 0));
  }

  /** Changes the password and ends every other session, token and ticket of the user. */
  async changePassword(
    req: IncomingMessage,
    identity: Identity,
    current: unknown,
    next: unknown,
  ): Promise<void> {
    if (!this.accountsMode) throw new ChatError('AUTH_ACCOUNTS_ONLY');
    await this.checkPassword(identity.nick, this.address(req), current);
    await this.users.setPassword(identity.nick, next, identity.credential.id);
    this.forget();
  }

  /**
   * Asks a logged-in user for their password again before something that cannot be undone
   * (deleting the account), under the same guessing limits as a login: AUTH_FAILED when wrong.
   * Accounts mode only (AUTH_ACCOUNTS_ONLY).
   */
  async reauthenticate(req: IncomingMessage, identity: Identity, password: unknown): Promise<void> {
    if (!this.accountsMode) throw new ChatError('AUTH_ACCOUNTS_ONLY');
    await this.checkPassword(identity.nick, this.address(req), password);
  }

  /** Clears the session cookie of this browser (its session is gone already). */
  clearCookie(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('Set-Cookie', this.cookieHeader(req, '', 0));
  }

  /**
   * Issues a bearer token; the secret is returned this once and never stored. In open mode it
   * expires (Users.createToken) and the edge's open-mode limits apply instead of the cap per
   * nick.
   */
  async createToken(req: IncomingMessage, nick: string, label: unknown): Promise<Issued> {
    if (!this.accountsMode) {
      this.openTokens.hit(this.address(req), nick, this.now());
      return this.users.createToken(nick, label, true);
    }
    const issued = await this.users.createToken(nick, label);
    await this.refuseIfBanned(nick, issued.credential.id);
    return issued;
  }

  /**
   * Revokes credential `id` of `nick`, just issued, and throws AUTH_BANNED when `nick` is
   * banned now. A request is authenticated before its body arrives, so a ban can commit
   * between the two (and delete every credential of the user) while the request then issues
   * a new one: checked after the insert, as login does, a ban committed before this read is
   * seen here, and one committed after it deleted the new credential.
   */
  private refuseIfBanned(nick: string, id: string): Promise<void> {
    return this.undoIfBanned(nick, () => this.deps.accounts.revoke(nick, id));
  }

  /**
   * Throws AUTH_BANNED after running `undo` when `nick` is banned now (accounts mode): for
   * whatever a request authenticated before a ban stored for the user after it (a
   * credential, a push subscription; see refuseIfBanned).
   */
  async undoIfBanned(nick: string, undo: () => Promise<unknown>): Promise<void> {
    if (!this.accountsMode || !this.deps.bans) return;
    try {
      await this.deps.bans.requireNotBanned(nick);
    } catch (err) {
      await undo();
      throw err;
    }
  }

  /** A user's bearer tokens, without their secrets. */
  tokens(nick: string): Promise<Credential[]> {
    return this.deps.accounts.credentials(nick, 'token', this.now());
  }

  /** Revokes a token (or session) the user owns; true when one went. */
  async revoke(nick: string, id: string): Promise<boolean> {
    const revoked = await this.deps.accounts.revoke(nick, id);
    this.forget();
    return revoked;
  }

  /** Issues a single-use stream ticket, valid for TICKET_TTL_MS. */
  async createTicket(req: IncomingMessage, nick: string): Promise<string> {
    if (this.accountsMode) {
      const held = await this.deps.accounts.credentials(nick, 'ticket', this.now());
      if (held.length >= MAX_TICKETS_PER_USER) {
        throw new ChatError('AUTH_RATE_LIMITED', `at most ${MAX_TICKETS_PER_USER} unused tickets`);
      }
    } else {
      this.openTickets.hit(this.address(req), nick, this.now());
    }
    const issued = await this.users.issue('ticket', nick, '', TICKET_TTL_MS);
    await this.refuseIfBanned(nick, issued.credential.id);
    return issued.token;
  }

  /** Redeems a stream ticket: its identity, or AUTH_TICKET_INVALID. It cannot be used again. */
  async redeemTicket(ticket: string): Promise<Identity> {
    const credential = await this.deps.accounts.takeTicket(hashSecret(ticket), this.now());
    if (credential?.kind !== 'ticket') throw new ChatError('AUTH_TICKET_INVALID');
    return { nick: credential.nick, credential };
  }

  /** Deletes expired sessions and tickets (run by the maintenance job). */
  prune(): Promise<number> {
    return this.deps.accounts.pruneCredentials(this.now());
  }

  private async startSession(req: IncomingMessage, res: ServerResponse, nick: string) {
    setRequestUser(req, nick);
    const { token, credential } = await this.users.issue('session', nick, '', SESSION_TTL_MS);
    res.setHeader('Set-Cookie', this.cookieHeader(req, token, SESSION_TTL_MS / 1000));
    return { nick, credential };
  }

  /** Counts an attempt from the client's address; returns the address. */
  private limitAddress(req: IncomingMessage): string {
    const address = this.address(req);
    const wait = this.perIp.hit(address, this.now());
    if (wait > 0) throw rateLimited(wait);
    return address;
  }

  /** The key the client's address is limited by: per /64 for IPv6, as the flood guards. */
  address(req: IncomingMessage): string {
    return addressKey(clientAddress(req, this.deps.config.trustProxy === 'yes'));
  }

  private cookieHeader(req: IncomingMessage, value: string, maxAgeS: number): string {
    const mode = this.deps.config.cookieSecure;
    const tls =
      (req.socket as { encrypted?: boolean }).encrypted === true ||
      req.headers['x-forwarded-proto'] === 'https';
    const secure = mode === 'always' || (mode === 'auto' && tls) ? '; Secure' : '';
    return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Lax${secure}`;
  }
}

function rateLimited(waitMs: number): ChatError {
  return new ChatError('AUTH_RATE_LIMITED', `retry in ${Math.ceil(waitMs / 1000)} s`, waitMs);
}

/** The secret of an `Authorization: Bearer …` header, if there is one. */
function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined || !/^Bearer [A-Za-z0-9_-]{1,128}$/.test(header)) return undefined;
  return header.slice('Bearer '.length);
}

/** One cookie's value from the Cookie header; secrets are base64url, so no decoding. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The client's address: the socket's, or the last X-Forwarded-For hop behind a proxy. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxy && typeof forwarded === 'string') {
    const last = forwarded.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
