import type pg from 'pg';
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
import { inTransaction } from './client.js';

const SANCTION = 'nick, kind, since, until, reason, "by"';
const ADDRESS_BAN = 'id, prefix, since, until, reason, "by"';

interface SanctionRow {
  nick: string;
  kind: SanctionKind;
  since: string;
  until: string;
  reason: string;
  by: string;
}
interface AddressBanRow extends Omit<SanctionRow, 'nick' | 'kind'> {
  id: string;
  prefix: string;
}

const toSanction = (r: SanctionRow): Sanction => ({
  nick: r.nick,
  kind: r.kind,
  since: Number(r.since),
  until: Number(r.until),
  reason: r.reason,
  by: r.by,
});
const toAddressBan = (r: AddressBanRow): AddressBan => ({
  id: Number(r.id),
  prefix: r.prefix,
  since: Number(r.since),
  until: Number(r.until),
  reason: r.reason,
  by: r.by,
});

/** The SanctionStore of PostgresStore (see the contract in sanctions-store.ts). */
export class PostgresSanctions implements SanctionStore {
  constructor(private readonly pool: pg.Pool) {}

  impose(s: Sanction, audit: NewAuditEntry): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      // FOR SHARE: a deletion of the account waits for this ban, or this ban sees it gone.
      const user = await client.query('SELECT 1 FROM users WHERE nick = $1 FOR SHARE', [s.nick]);
      if (user.rowCount !== 1) return false;
      await client.query(
        `INSERT INTO sanctions (${SANCTION}) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (nick, kind) DO UPDATE SET since = excluded.since, until = excluded.until,
           reason = excluded.reason, "by" = excluded."by"`,
        [s.nick, s.kind, s.since, s.until, s.reason, s.by],
      );
      if (s.kind === 'ban') {
        await client.query(
          `WITH c AS (DELETE FROM credentials WHERE nick = $1)
           DELETE FROM push_subscriptions WHERE nick = $1`,
          [s.nick],
        );
      }
      await insertAudit(client, audit);
      return true;
    });
  }

  lift(nick: string, kind: SanctionKind, now: number, audit: NewAuditEntry): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ until: string }>(
        'DELETE FROM sanctions WHERE nick = $1 AND kind = $2 RETURNING until',
        [nick, kind],
      );
      const until = rows[0] === undefined ? undefined : Number(rows[0].until);
      if (until === undefined || !(until === 0 || until > now)) return false;
      await insertAudit(client, audit);
      return true;
    });
  }

  async status(nick: string, now: number): Promise<Sanction[]> {
    const { rows } = await this.pool.query<SanctionRow>(
      `SELECT ${SANCTION} FROM sanctions WHERE nick = $1 AND (until = 0 OR until > $2)
        ORDER BY kind`,
      [nick, now],
    );
    return rows.map(toSanction);
  }

  imposeAddress(ban: NewAddressBan, audit: NewAuditEntry): Promise<AddressBan | null> {
    return inTransaction(this.pool, async (client) => {
      // One writer at a time, so that two processes cannot both pass the count.
      await client.query('LOCK TABLE address_bans IN SHARE ROW EXCLUSIVE MODE');
      await client.query('DELETE FROM address_bans WHERE NOT (until = 0 OR until > $1)', [
        ban.since,
      ]);
      const count = await client.query<{ n: string }>('SELECT count(*) AS n FROM address_bans');
      if (Number(count.rows[0]?.n ?? 0) >= MAX_ADDRESS_BANS) return null;
      const { rows } = await client.query<AddressBanRow>(
        `INSERT INTO address_bans (prefix, since, until, reason, "by")
         VALUES ($1, $2, $3, $4, $5) RETURNING ${ADDRESS_BAN}`,
        [ban.prefix, ban.since, ban.until, ban.reason, ban.by],
      );
      const row = toAddressBan(rows[0] as AddressBanRow);
      await insertAudit(client, { ...audit, detail: addressDetail(row) });
      return row;
    });
  }

  liftAddress(target: AddressBanTarget, now: number, audit: NewAuditEntry): Promise<AddressBan[]> {
    return inTransaction(this.pool, async (client) => {
      const [column, value] = 'id' in target ? ['id', target.id] : ['prefix', target.prefix];
      const { rows } = await client.query<AddressBanRow>(
        `DELETE FROM address_bans WHERE ${column} = $1 AND (until = 0 OR until > $2)
         RETURNING ${ADDRESS_BAN}`,
        [value, now],
      );
      const bans = rows.map(toAddressBan);
      for (const ban of bans) await insertAudit(client, { ...audit, detail: addressDetail(ban) });
      return bans;
    });
  }

  async addressBans(now: number): Promise<AddressBan[]> {
    const { rows } = await this.pool.query<AddressBanRow>(
      `SELECT ${ADDRESS_BAN} FROM address_bans WHERE until = 0 OR until > $1
        ORDER BY id LIMIT ${MAX_ADDRESS_BANS}`,
      [now],
    );
    return rows.map(toAddressBan);
  }
}
