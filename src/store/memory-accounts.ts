import { nickKey } from '../domain/confusables.js';
import type { AccountStore, Credential, CredentialKind } from './accounts.js';

interface User {
  readonly nick: string;
  passwordHash: string;
  readonly created: number;
  /** The log head when the account was made (accounts.ts, createUser). */
  readonly registered: number;
}

/** What MemoryAccounts needs from the rest of its MemoryStore. */
export interface MemoryAccountsHost {
  /** The highest id the log assigned so far. */
  head(): number;
  /** Empties the mailboxes and drops the invitations of the nicks `which` selects. */
  forget(which: (nick: string) => boolean): void;
}

/**
 * The AccountStore of MemoryStore. Lookups by owner scan every credential, which is fine for
 * tests and demos, the only uses of the memory backend.
 */
export class MemoryAccounts implements AccountStore {
  /** By nick with ASCII letters folded to lower case, as SQLite's NOCASE folds them. */
  private readonly users = new Map<string, User>();
  /** Nick by look-alike key: the unique index of the other engines. */
  private readonly keys = new Map<string, string>();
  /** By secret hash, in insertion order: the tie-break for equal `created`. */
  private readonly secrets = new Map<string, Credential>();
  private mode: 'open' | 'accounts' | undefined;

  constructor(private readonly host: MemoryAccountsHost) {}

  async createUser(nick: string, passwordHash: string, now: number): Promise<boolean> {
    const key = foldAscii(nick);
    const look = nickKey(nick);
    if (this.users.has(key) || this.keys.has(look)) return false;
    this.users.set(key, { nick, passwordHash, created: now, registered: this.host.head() });
    this.keys.set(look, nick);
    this.host.forget((n) => n === nick);
    return true;
  }

  async lookAlike(nick: string): Promise<string | undefined> {
    return this.keys.get(nickKey(nick));
  }

  /** The registration point of exactly this nick (store.ts), 0 when it has no account. */
  registeredAt(nick: string): number {
    return this.user(nick)?.registered ?? 0;
  }

  async registration(nick: string): Promise<number | undefined> {
    return this.user(nick)?.registered;
  }

  async registrations(nicks: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const nick of nicks) {
      const user = this.user(nick);
      if (user) found.set(nick, user.registered);
    }
    return found;
  }

  async passwordHash(nick: string): Promise<string | undefined> {
    return this.user(nick)?.passwordHash;
  }

  async setPasswordHash(nick: string, passwordHash: string): Promise<void> {
    const user = this.user(nick);
    if (user) user.passwordHash = passwordHash;
  }

  async authMode(): Promise<'open' | 'accounts' | undefined> {
    return this.mode;
  }

  async setAuthMode(mode: 'open' | 'accounts'): Promise<number> {
    const before = this.mode;
    this.mode = mode;
    if (mode === 'accounts' && before !== 'accounts') {
      this.host.forget((nick) => this.user(nick) === undefined);
    }
    if (before === undefined || before === mode) return 0;
    const n = this.secrets.size;
    this.secrets.clear();
    return n;
  }

  async addCredential(secretHash: string, credential: Credential): Promise<void> {
    // The same uniqueness the SQLite table enforces.
    if (this.secrets.has(secretHash) || this.find((c) => c.id === credential.id)) {
      throw new Error('credential already exists');
    }
    this.secrets.set(secretHash, { ...credential });
  }

  async credential(secretHash: string, now: number): Promise<Credential | undefined> {
    const found = this.secrets.get(secretHash);
    return found && live(found, now) ? { ...found } : undefined;
  }

  async takeTicket(secretHash: string, now: number): Promise<Credential | undefined> {
    // Synchronous from lookup to delete, so concurrent takers cannot both get it.
    const found = this.secrets.get(secretHash);
    if (found?.kind !== 'ticket') return undefined;
    this.secrets.delete(secretHash);
    return live(found, now) ? found : undefined;
  }

  async credentials(nick: string, kind: CredentialKind, now: number): Promise<Credential[]> {
    const mine = [...this.secrets.values()].filter(
      (c) => c.nick === nick && c.kind === kind && live(c, now),
    );
    // Array.prototype.sort is stable: equal `created` keep insertion order.
    return mine.sort((a, b) => a.created - b.created).map((c) => ({ ...c }));
  }

  async revoke(nick: string, id: string): Promise<boolean> {
    const key = this.find((c) => c.nick === nick && c.id === id);
    return key !== undefined && this.secrets.delete(key);
  }

  async revokeAll(nick: string, kind: CredentialKind, except?: string): Promise<number> {
    return this.deleteWhere((c) => c.nick === nick && c.kind === kind && c.id !== except);
  }

  async pruneCredentials(now: number): Promise<number> {
    return this.deleteWhere((c) => !live(c, now));
  }

  private user(nick: string): User | undefined {
    const user = this.users.get(foldAscii(nick));
    // A login must use the exact nick, not another case of it.
    return user?.nick === nick ? user : undefined;
  }

  private find(match: (c: Credential) => boolean): string | undefined {
    for (const [key, c] of this.secrets) if (match(c)) return key;
    return undefined;
  }

  private deleteWhere(match: (c: Credential) => boolean): number {
    let n = 0;
    for (const [key, c] of this.secrets) {
      if (match(c)) {
        this.secrets.delete(key);
        n++;
      }
    }
    return n;
  }
}

/** `expires` is the last ms at which a credential works; 0 means it never expires. */
function live(c: Credential, now: number): boolean {
  return c.expires === 0 || c.expires >= now;
}

/** Lower-cases A-Z only; other letters keep their case, as in SQLite's NOCASE. */
function foldAscii(nick: string): string {
  return nick.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
}
