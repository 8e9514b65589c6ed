import { type AuditAction, isAuditAction, parseReason } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import type { AuditPage, AuditQuery } from '../store/audit-store.js';
import type { Store } from '../store/store.js';

/** A server-wide role: admins act as owners of every room and reach the admin routes. */
export type ServerRole = 'admin' | 'user';

/** What Admins needs from the chat service. */
export interface AdminsDeps {
  readonly store: Store;
  /** Whether the server runs with accounts: admins exist in that mode only. */
  readonly accounts: boolean;
  readonly now: () => number;
}

/**
 * Server admins and the audit log. In open mode nobody is an admin: a nick is only a claim
 * there, so a role recorded for it (in accounts mode, before a switch) is not trusted.
 */
export class Admins {
  constructor(private readonly deps: AdminsDeps) {}

  /** Whether `nick` (as registered) is a server admin now; always false in open mode. */
  async isAdmin(nick: string): Promise<boolean> {
    return this.deps.accounts && (await this.deps.store.accounts.isAdmin(nick));
  }

  /**
   * `actor` (a nick, or CLI_ACTOR) makes the account `nickRaw` names (any ASCII case) an admin
   * or a plain user, audited ('role', detail {role}) in the same transaction when it changes
   * something. USER_NOT_FOUND for no such account, ADMIN_LAST for the last admin's demotion,
   * MOD_REASON_INVALID for a bad reason.
   */
  async setRole(
    actor: string,
    nickRaw: string,
    role: unknown,
    reasonRaw: unknown,
  ): Promise<{ nick: string; role: ServerRole }> {
    if (role !== 'admin' && role !== 'user') {
      throw new ChatError('API_BODY_INVALID', "role must be 'admin' or 'user'");
    }
    const reason = parseReason(reasonRaw, false);
    const nick = await this.deps.store.accounts.canonicalNick(nickRaw);
    if (nick === undefined) throw new ChatError('USER_NOT_FOUND');
    const audit = { ts: this.deps.now(), actor, action: 'role' as const, target: nick, reason };
    const found = await this.deps.store.accounts.setAdmin(nick, role === 'admin', {
      ...audit,
      detail: { role },
    });
    if (!found) throw new ChatError('USER_NOT_FOUND');
    return { nick, role };
  }

  /** The nick as registered of the account `nick` names in any ASCII case, if any. */
  accountNick(nick: string): Promise<string | undefined> {
    return this.deps.store.accounts.canonicalNick(nick);
  }

  /** One page of the audit log (AuditStore.list). */
  audit(query: AuditQuery): Promise<AuditPage> {
    return this.deps.store.audit.list(query);
  }
}

/** Parses an audit filter `?action=`, API_QUERY_INVALID when it names no AuditAction. */
export function parseAuditAction(raw: string): AuditAction {
  if (!isAuditAction(raw)) throw new ChatError('API_QUERY_INVALID', `unknown action ${raw}`);
  return raw;
}
