import type Database from 'better-sqlite3';
import type { NewAuditEntry } from '../../domain/audit.js';
import { ChatError } from '../../domain/errors.js';
import { insertAudit } from './audit.js';

/** The server-admin part of SqliteAccounts (accounts.ts): the users table's admin column. */
export class SqliteAdmins {
  private readonly selectAdmin: Database.Statement<[{ nick: string }], { admin: number }>;
  private readonly selectAdmins: Database.Statement<[], { nick: string }>;
  private readonly setTx: (nick: string, admin: boolean, audit: NewAuditEntry) => boolean;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(db: Database.Database) {
    // The first comparison (NOCASE) finds the row through the primary key; the second keeps
    // it to exactly this nick.
    this.selectAdmin = db.prepare(
      'SELECT admin FROM users WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    this.selectAdmins = db.prepare('SELECT nick FROM users WHERE admin = 1 ORDER BY nick');
    const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM users WHERE admin = 1');
    const update = db.prepare<[{ nick: string; admin: number }]>(
      'UPDATE users SET admin = @admin WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    // IMMEDIATE: the count of admins and the change are one step, also across processes.
    const set = db.transaction((nick: string, admin: boolean, audit: NewAuditEntry) => {
      const row = this.selectAdmin.get({ nick });
      if (!row) return false;
      if ((row.admin === 1) === admin) return true;
      if (!admin && (count.get()?.n ?? 0) <= 1) throw new ChatError('ADMIN_LAST');
      update.run({ nick, admin: admin ? 1 : 0 });
      insertAudit(db, audit);
      return true;
    });
    this.setTx = (nick, admin, audit) => set.immediate(nick, admin, audit);
  }

  isAdmin(nick: string): boolean {
    return this.selectAdmin.get({ nick })?.admin === 1;
  }

  setAdmin(nick: string, admin: boolean, audit: NewAuditEntry): boolean {
    return this.setTx(nick, admin, audit);
  }

  admins(): string[] {
    return this.selectAdmins.all().map((r) => r.nick);
  }
}
