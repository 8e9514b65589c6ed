import type Database from 'better-sqlite3';
import type { NewAuditEntry } from '../../domain/audit.js';
import {
  type AddressBan,
  MAX_ADDRESS_BANS,
  type Sanction,
  type SanctionKind,
} from '../../domain/sanctions.js';
import {
  type AddressBanTarget,
  addressDetail,
  type NewAddressBan,
  type SanctionStore,
} from '../sanctions-store.js';
import { insertAudit } from './audit.js';

const IN_FORCE = '(until = 0 OR until > @now)';
const SANCTION = 'nick, kind, since, until, reason, "by"';
const ADDRESS_BAN = 'id, prefix, since, until, reason, "by"';

/** The SanctionStore of SqliteStore (see the contract in sanctions-store.ts). */
export class SqliteSanctions implements SanctionStore {
  private readonly imposeTx: (s: Sanction, audit: NewAuditEntry) => boolean;
  private readonly liftTx: (
    nick: string,
    kind: SanctionKind,
    now: number,
    audit: NewAuditEntry,
  ) => boolean;
  private readonly selectStatus: Database.Statement<[{ nick: string; now: number }], Sanction>;
  private readonly imposeAddressTx: (ban: NewAddressBan, audit: NewAuditEntry) => AddressBan | null;
  private readonly liftAddressTx: (
    target: AddressBanTarget,
    now: number,
    audit: NewAuditEntry,
  ) => AddressBan[];
  private readonly selectAddressBans: Database.Statement<[{ now: number }], AddressBan>;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(db: Database.Database) {
    const userExists = db.prepare(
      'SELECT 1 FROM users WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    const upsert = db.prepare(
      `INSERT INTO sanctions (${SANCTION}) VALUES (@nick, @kind, @since, @until, @reason, @by)
       ON CONFLICT (nick, kind) DO UPDATE SET since = excluded.since, until = excluded.until,
         reason = excluded.reason, "by" = excluded."by"`,
    );
    const dropCredentials = db.prepare('DELETE FROM credentials WHERE nick = ?');
    const dropPush = db.prepare('DELETE FROM push_subscriptions WHERE nick = ?');
    const impose = db.transaction((s: Sanction, audit: NewAuditEntry) => {
      if (userExists.get({ nick: s.nick }) === undefined) return false;
      upsert.run(s);
      if (s.kind === 'ban') {
        dropCredentials.run(s.nick);
        dropPush.run(s.nick);
      }
      insertAudit(db, audit);
      return true;
    });
    this.imposeTx = (s, audit) => impose.immediate(s, audit);

    const remove = db.prepare(
      `DELETE FROM sanctions WHERE nick = @nick AND kind = @kind RETURNING until`,
    );
    const lift = db.transaction(
      (nick: string, kind: SanctionKind, now: number, audit: NewAuditEntry) => {
        const row = remove.get({ nick, kind }) as { until: number } | undefined;
        if (row === undefined || !(row.until === 0 || row.until > now)) return false;
        insertAudit(db, audit);
        return true;
      },
    );
    this.liftTx = (nick, kind, now, audit) => lift.immediate(nick, kind, now, audit);
    this.selectStatus = db.prepare(
      `SELECT ${SANCTION} FROM sanctions WHERE nick = @nick AND ${IN_FORCE} ORDER BY kind`,
    );

    const countAddress = db.prepare(`SELECT count(*) AS n FROM address_bans WHERE ${IN_FORCE}`);
    const dropExpired = db.prepare('DELETE FROM address_bans WHERE NOT (until = 0 OR until > ?)');
    const insertAddress = db.prepare(
      `INSERT INTO address_bans (prefix, since, until, reason, "by")
       VALUES (@prefix, @since, @until, @reason, @by) RETURNING ${ADDRESS_BAN}`,
    );
    const imposeAddress = db.transaction((ban: NewAddressBan, audit: NewAuditEntry) => {
      dropExpired.run(ban.since);
      const { n } = countAddress.get({ now: ban.since }) as { n: number };
      if (n >= MAX_ADDRESS_BANS) return null;
      const row = insertAddress.get(ban) as AddressBan;
      insertAudit(db, { ...audit, detail: addressDetail(row) });
      return row;
    });
    this.imposeAddressTx = (ban, audit) => imposeAddress.immediate(ban, audit);
    const removeById = db.prepare(
      `DELETE FROM address_bans WHERE id = @id AND ${IN_FORCE} RETURNING ${ADDRESS_BAN}`,
    );
    const removeByPrefix = db.prepare(
      `DELETE FROM address_bans WHERE prefix = @prefix AND ${IN_FORCE} RETURNING ${ADDRESS_BAN}`,
    );
    const liftAddress = db.transaction(
      (target: AddressBanTarget, now: number, audit: NewAuditEntry) => {
        const rows = (
          'id' in target
            ? removeById.all({ id: target.id, now })
            : removeByPrefix.all({ prefix: target.prefix, now })
        ) as AddressBan[];
        for (const row of rows) insertAudit(db, { ...audit, detail: addressDetail(row) });
        return rows;
      },
    );
    this.liftAddressTx = (target, now, audit) => liftAddress.immediate(target, now, audit);
    this.selectAddressBans = db.prepare(
      `SELECT ${ADDRESS_BAN} FROM address_bans WHERE ${IN_FORCE} ORDER BY id LIMIT ${MAX_ADDRESS_BANS}`,
    );
  }

  async impose(sanction: Sanction, audit: NewAuditEntry): Promise<boolean> {
    return this.imposeTx(sanction, audit);
  }

  async lift(
    nick: string,
    kind: SanctionKind,
    now: number,
    audit: NewAuditEntry,
  ): Promise<boolean> {
    return this.liftTx(nick, kind, now, audit);
  }

  async status(nick: string, now: number): Promise<Sanction[]> {
    return this.selectStatus.all({ nick, now });
  }

  async imposeAddress(ban: NewAddressBan, audit: NewAuditEntry): Promise<AddressBan | null> {
    return this.imposeAddressTx(ban, audit);
  }

  async liftAddress(
    target: AddressBanTarget,
    now: number,
    audit: NewAuditEntry,
  ): Promise<AddressBan[]> {
    return this.liftAddressTx(target, now, audit);
  }

  async addressBans(now: number): Promise<AddressBan[]> {
    return this.selectAddressBans.all({ now });
  }
}
