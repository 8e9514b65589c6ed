import type { NewAuditEntry } from '../domain/audit.js';
import type { RegistrationGate } from '../domain/registration.js';

/** How createUser makes an account besides its nick and password. */
export interface NewUserOptions {
  /**
   * A registration by the user themself: refused in the same transaction unless the mode
   * allows it (AUTH_REGISTRATION_CLOSED, AUTH_INVITE_REQUIRED, AUTH_INVITE_INVALID thrown),
   * and an invite's use counted there (registration-store.ts). Absent: the command line or an
   * admin, in any mode.
   */
  readonly gate?: RegistrationGate;
  /** The account is a server admin from the start. */
  readonly admin?: boolean;
  /** An audit row to write in the same transaction (an admin's 'user.create'). */
  readonly audit?: NewAuditEntry;
}

/** What a credential is for. */
export type CredentialKind = 'session' | 'token' | 'ticket';

/**
 * A secret that proves who a client is: a browser session (cookie), a bearer token for bots,
 * or a single-use stream ticket. The Store keeps only a hash of the secret (see
 * http/credentials.ts), so a leaked database does not hand out logins.
 */
export interface Credential {
  readonly kind: CredentialKind;
  /** Public id: lists and revocation use it; it is not a secret. */
  readonly id: string;
  /** The user it logs in as. */
  readonly nick: string;
  /** A name the owner gave it (tokens), or '' */
  readonly label: string;
  /** ms since the epoch */
  readonly created: number;
  /** ms since the epoch after which it no longer works; 0 for never. */
  readonly expires: number;
}

/**
 * Accounts and credentials, kept by the same backend as the messages (Store.accounts).
 *
 * Contract (checked for every backend by accounts.contract.ts):
 *
 * - Nicks of accounts are unique regardless of ASCII letter case: once "Bob" is registered,
 *   "bob" cannot be, and `passwordHash("bob")` finds nothing; `canonicalNick("bob")` answers
 *   "Bob", which a login in any case then uses (http/auth.ts).
 * - Nor may two accounts look alike: once "alice" is registered, neither "аlice" (Cyrillic а)
 *   nor "ＡＬＩＣＥ" can be, nor any nick with the same look-alike key (core/confusables.ts
 *   nickKey), even when registered concurrently from several processes. Accounts that looked
 *   alike before the rule existed keep working (accounts-keys.ts).
 * - `createUser` records the log's head at that moment as the account's registration point,
 *   and in the same transaction empties the nick's offline mailbox and drops its room
 *   invitations and its notification state (read markers, levels, attention, push settings):
 *   whatever was addressed to a nick, or set for it, before anyone owned it was meant for or
 *   made by someone else (an open-mode user of that name, or nobody). The Store's reads hide the rest of it
 *   (store.ts, "A registered viewer..."). Accounts made before this rule existed see all.
 * - Deleting an account (`deleteUser`) removes, in one transaction, its user row, every
 *   credential and push subscription of the nick, its notification state (read markers,
 *   levels, attention, push settings) and its offline mailbox, and records
 *   the nick's look-alike key as departed until the given time: before then `createUser`
 *   refuses the nick and every nick with the same key, as if it were taken. It leaves the log
 *   alone: the account's room memberships and invitations are ended, and its messages
 *   deleted, through the log by the caller (core/account-deletion.ts). Whoever registers the nick after the
 *   reservation gets a new registration point, so sees nothing addressed to the old account.
 * - An expired credential is never returned, by `credential` or `takeTicket`.
 * - `takeTicket` returns a ticket at most once, even to concurrent callers, and never takes,
 *   returns or deletes a credential of another kind: a session secret or a token passed where
 *   a ticket goes must not end that session or token.
 * - `revoke` deletes only a credential the given nick owns.
 * - `setAuthMode` with a mode other than the one recorded before deletes every credential:
 *   a cookie issued for a bare nick in open mode must not act as the registered user of that
 *   nick in accounts mode (nor the other way round). The first call on a new store records
 *   the mode and deletes nothing. A call with `accounts` when the recorded mode is not
 *   `accounts` also empties the mailboxes and drops the invitations of every nick that has no
 *   account: in accounts mode nobody can read them, and whoever registers such a nick later
 *   must not (createUser would drop them then; this frees the space at once).
 */
export interface AccountStore {
  /** Whether exactly this nick has an account that is a server admin. */
  isAdmin(nick: string): Promise<boolean>;
  /**
   * Makes exactly this nick's account an admin or a plain user, writing `audit` in the same
   * transaction when that changed something; false when it has no account. Refuses to make
   * the last admin a plain user (ChatError ADMIN_LAST), decided in the transaction, so that
   * two admins demoting each other at once leave one.
   */
  setAdmin(nick: string, admin: boolean, audit: NewAuditEntry): Promise<boolean>;
  /** The nicks of every server admin, in nick order. */
  admins(): Promise<string[]>;
  /**
   * Registers a user, recording the log head as its registration point and dropping what was
   * addressed to the nick before (see above); false when the nick (in any ASCII case) is taken,
   * or an account looks like it (the same nickKey), or a deleted account's reservation covers
   * it at `now` (deleteUser). `options`: see NewUserOptions; nothing of a refused
   * registration (neither the account nor an invite's use) is stored.
   */
  createUser(
    nick: string,
    passwordHash: string,
    now: number,
    options?: NewUserOptions,
  ): Promise<boolean>;
  /** The account that looks like `nick` (the same nickKey), if any: whom a refusal met. */
  lookAlike(nick: string): Promise<string | undefined>;
  /**
   * The registration point (see createUser) of exactly this nick; undefined when it has no
   * account. Accounts made before registration points existed have 0.
   */
  registration(nick: string): Promise<number | undefined>;
  /** When exactly this nick registered (ms since the epoch); undefined when it has no account. */
  created(nick: string): Promise<number | undefined>;
  /** registration() of many nicks at once: those with an account, by nick. */
  registrations(nicks: readonly string[]): Promise<Map<string, number>>;
  /** The nick as registered of the account `nick` names in any ASCII letter case, if any. */
  canonicalNick(nick: string): Promise<string | undefined>;
  /** The stored password hash of exactly this nick, if it is registered. */
  passwordHash(nick: string): Promise<string | undefined>;
  /** Replaces a registered user's password hash. */
  setPasswordHash(nick: string, passwordHash: string): Promise<void>;
  /** Keeps a credential under the hash of its secret. */
  addCredential(secretHash: string, credential: Credential): Promise<void>;
  /** The credential with this secret hash, unless it expired before `now`. */
  credential(secretHash: string, now: number): Promise<Credential | undefined>;
  /** The ticket with this secret hash, deleted as it is returned; never another kind. */
  takeTicket(secretHash: string, now: number): Promise<Credential | undefined>;
  /** A user's credentials of one kind, oldest first, expired ones excluded. */
  credentials(nick: string, kind: CredentialKind, now: number): Promise<Credential[]>;
  /** Deletes the credential with public id `id` if `nick` owns it; true when one went. */
  revoke(nick: string, id: string): Promise<boolean>;
  /** Deletes every credential of `nick` of this kind except the one with public id `except`. */
  revokeAll(nick: string, kind: CredentialKind, except?: string): Promise<number>;
  /**
   * Deletes the account of exactly `nick` (see "Deleting an account" above); false when it
   * has none. `until`: the nick and its look-alikes are refused by createUser before then
   * (ms since the epoch; at or below `now`: not reserved).
   */
  deleteUser(nick: string, until: number, now: number): Promise<boolean>;
  /**
   * The deleted account whose reservation (deleteUser) refuses `nick` at `now`: its nick, or
   * undefined. Only for the message of a refusal; createUser decides in its own transaction.
   */
  departed(nick: string, now: number): Promise<string | undefined>;
  /**
   * Ids of the messages (kind message, not deleted) `nick` sent with an id above `after`,
   * oldest first, at most `limit`: what deleting an account's messages walks, in pages.
   */
  sentMessages(nick: string, after: number, limit: number): Promise<number[]>;
  /** Deletes credentials that expired before `now`; returns how many. */
  pruneCredentials(now: number): Promise<number>;
  /**
   * Records the server's auth mode; when it differs from the recorded one, deletes every
   * credential and returns how many went.
   */
  setAuthMode(mode: 'open' | 'accounts'): Promise<number>;
  /**
   * The auth mode a server last recorded (setAuthMode), or undefined before any did; the
   * command line reads it to tell an operator how the server treats the accounts it makes.
   */
  authMode(): Promise<'open' | 'accounts' | undefined>;
}
