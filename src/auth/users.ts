import { ChatError } from '../domain/errors.js';
import { checkNewNick } from '../domain/input.js';
import type {
  AccountStore,
  Credential,
  CredentialKind,
  NewUserOptions,
} from '../store/accounts.js';
import { checkNewPassword, hashPassword } from './passwords.js';
import { hashSecret, newId, newSecret } from './secrets.js';

/** Bearer tokens one user may hold; creating more gets 429 until one is revoked. */
export const MAX_TOKENS_PER_USER = 100;
/**
 * How long a token made in open mode works. There a nick is only claimed, so a token proves
 * nothing beyond "someone said this nick once"; it should not outlive a browser session.
 */
export const OPEN_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** Longest token label, in UTF-16 units. */
export const MAX_LABEL_LENGTH = 100;

/**
 * Most registered nicks a RegisteredNicks remembers; beyond it, it starts over. A nick it
 * forgot costs one Store read on the next direct message to it.
 */
const REGISTERED_CACHE_SIZE = 10_000;

/**
 * Answers "is this nick a registered account?" for the chat service in accounts mode, where
 * a direct message or an invitation to anyone else is refused. A yes is remembered (a direct
 * message costs no Store read after the first to that nick) until the account is deleted
 * (`forget`, on the Bus's `ended` event); a no is asked again each time, so a nick registered
 * on another process counts at once.
 */
export class RegisteredNicks {
  private readonly known = new Set<string>();

  constructor(private readonly accounts: AccountStore) {}

  /** True when exactly `nick` is a registered account. */
  readonly has = async (nick: string): Promise<boolean> => {
    if (this.known.has(nick)) return true;
    if ((await this.accounts.passwordHash(nick)) === undefined) return false;
    if (this.known.size >= REGISTERED_CACHE_SIZE) this.known.clear();
    this.known.add(nick);
    return true;
  };

  /** Forgets that `nick` was registered: its account was deleted. */
  readonly forget = (nick: string): void => {
    this.known.delete(nick);
  };
}

/** A newly issued credential and its secret, which exists only in this value. */
export interface Issued {
  readonly token: string;
  readonly credential: Credential;
}

/**
 * Account operations with their rules (password strength, token limits, what a password
 * change revokes), shared by the JSON API (http/auth.ts) and the command line (cli/), so that
 * both front doors create, change and issue exactly alike. No HTTP here: rate limits and
 * cookies are the edge's.
 */
export class Users {
  constructor(
    private readonly accounts: AccountStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `nick` (exactly) is a registered account. */
  async exists(nick: string): Promise<boolean> {
    return (await this.accounts.passwordHash(nick)) !== undefined;
  }

  /**
   * Registers `nick` (NFC, as parseNick leaves it). Throws CHAT_NICK_INVALID for an invisible
   * character, CHAT_NICK_RESERVED for a look-alike of `all` (checkNewNick: accounts mode's
   * parseNick lets both pass, for the accounts that predate the rule), AUTH_PASSWORD_WEAK, or
   * AUTH_NICK_TAKEN when the nick, or one that looks like it, is registered or reserved for a
   * deleted account (AccountStore.deleteUser): the store refuses
   * both in the insert itself, so that concurrent registrations cannot both win. `options`:
   * a registration's gate (mode and invite, checked in the same transaction: throws
   * AUTH_REGISTRATION_CLOSED, AUTH_INVITE_REQUIRED, AUTH_INVITE_INVALID), an admin's flag and
   * audit row (AccountStore.createUser).
   */
  async create(nick: string, password: unknown, options: NewUserOptions = {}): Promise<void> {
    checkNewNick(nick);
    const hash = await hashPassword(checkNewPassword(password));
    if (!(await this.accounts.createUser(nick, hash, this.now(), options))) {
      // Only for the message: the refusal itself was the insert's.
      const like = await this.accounts.lookAlike(nick);
      if (like !== undefined && like.toLowerCase() !== nick.toLowerCase()) {
        throw new ChatError('AUTH_NICK_TAKEN', `looks like the registered nick ${like}`);
      }
      if ((await this.accounts.departed(nick, this.now())) !== undefined) {
        throw new ChatError('AUTH_NICK_TAKEN', 'kept for a deleted account for a while');
      }
      throw new ChatError('AUTH_NICK_TAKEN');
    }
  }

  /**
   * Sets a registered user's password and ends every session, token and ticket of theirs but
   * `keep` (the session that asked, if any): whoever knew the old password may have made
   * themselves a token or a ticket. Throws AUTH_PASSWORD_WEAK. Returns how many credentials
   * went.
   */
  async setPassword(nick: string, password: unknown, keep?: string): Promise<number> {
    const hash = await hashPassword(checkNewPassword(password));
    await this.accounts.setPasswordHash(nick, hash);
    let revoked = 0;
    for (const kind of ['session', 'token', 'ticket'] as const) {
      revoked += await this.accounts.revokeAll(nick, kind, keep);
    }
    return revoked;
  }

  /**
   * Issues a bearer token; the secret is returned this once and never stored. `open` (auth
   * open, where a nick is only claimed): the token expires after OPEN_TOKEN_TTL_MS, and the
   * cap per nick is not applied, since anyone could fill it for anyone: the edge limits
   * open-mode creations per address instead (http/auth.ts).
   */
  async createToken(nick: string, label: unknown, open = false): Promise<Issued> {
    if (label !== undefined && (typeof label !== 'string' || label.length > MAX_LABEL_LENGTH)) {
      throw new ChatError(
        'API_BODY_INVALID',
        `label must be a string of at most ${MAX_LABEL_LENGTH}`,
      );
    }
    if (open) return this.issue('token', nick, label ?? '', OPEN_TOKEN_TTL_MS);
    const held = await this.accounts.credentials(nick, 'token', this.now());
    if (held.length >= MAX_TOKENS_PER_USER) {
      throw new ChatError('AUTH_RATE_LIMITED', `at most ${MAX_TOKENS_PER_USER} tokens per user`);
    }
    return this.issue('token', nick, label ?? '', 0);
  }

  /**
   * Stores a new credential of `kind` under the hash of a fresh random secret, valid for
   * `ttlMs` from its creation (0: until revoked). Both times come from one clock reading.
   */
  async issue(kind: CredentialKind, nick: string, label: string, ttlMs: number): Promise<Issued> {
    const token = newSecret();
    const created = this.now();
    const expires = ttlMs === 0 ? 0 : created + ttlMs;
    const credential: Credential = { kind, id: newId(), nick, label, created, expires };
    await this.accounts.addCredential(hashSecret(token), credential);
    return { token, credential };
  }
}
