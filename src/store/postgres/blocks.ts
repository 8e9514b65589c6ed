import type pg from 'pg';
import { type Block, MAX_BLOCKS_PER_USER } from '../../domain/blocks.js';
import { ChatError } from '../../domain/errors.js';
import type { BlockStore } from '../blocks-store.js';
import { inTransaction } from './client.js';

/** A block as a row: since is int8, read as a number. */
type BlockRow = { nick: string; since: string | number };

const toBlock = (r: BlockRow): Block => ({ nick: r.nick, since: Number(r.since) });

/** The BlockStore of PostgresStore (see blocks-store.ts). */
export class PostgresBlocks implements BlockStore {
  /** Queries through `pool`; `flush` commits queued appends (written before a change). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly flush: () => Promise<void>,
  ) {}

  async block(blocker: string, nick: string, now: number): Promise<Block | undefined> {
    await this.flush();
    return inTransaction(this.pool, async (client) => {
      // One blocker's blocks are added one at a time, so concurrent ones cannot pass the
      // bound between the count and the insert (a lock on the blocker's name, held to commit).
      await client.query("SELECT pg_advisory_xact_lock(hashtext('ssechat-blocks:' || $1))", [
        blocker,
      ]);
      const user = await client.query<{ nick: string }>(
        'SELECT nick FROM users u WHERE lower(u.nick COLLATE "C") = lower($1 COLLATE "C")',
        [nick],
      );
      const target = user.rows[0]?.nick;
      if (target === undefined) return undefined;
      const had = await client.query<BlockRow & { n: string }>(
        `SELECT (SELECT count(*) FROM blocks WHERE blocker = $1) AS n, b.blocked AS nick, b.since
           FROM (SELECT 1) x LEFT JOIN blocks b ON b.blocker = $1 AND b.blocked = $2`,
        [blocker, target],
      );
      const row = had.rows[0];
      if (row?.nick) return toBlock(row);
      if (Number(row?.n ?? 0) >= MAX_BLOCKS_PER_USER) throw new ChatError('BLOCKS_FULL');
      await client.query('INSERT INTO blocks (blocker, blocked, since) VALUES ($1, $2, $3)', [
        blocker,
        target,
        now,
      ]);
      return { nick: target, since: now };
    });
  }

  async unblock(blocker: string, nick: string): Promise<boolean> {
    await this.flush();
    const { rowCount } = await this.pool.query(
      'DELETE FROM blocks WHERE blocker = $1 AND lower(blocked COLLATE "C") = lower($2 COLLATE "C")',
      [blocker, nick],
    );
    return (rowCount ?? 0) > 0;
  }

  async list(blocker: string): Promise<Block[]> {
    const { rows } = await this.pool.query<BlockRow>(
      `SELECT blocked AS nick, since FROM blocks WHERE blocker = $1
        ORDER BY since, blocked COLLATE "C" LIMIT $2`,
      [blocker, MAX_BLOCKS_PER_USER],
    );
    return rows.map(toBlock);
  }

  async blocks(blocker: string, nick: string): Promise<boolean> {
    const { rows } = await this.pool.query(
      'SELECT 1 FROM blocks WHERE blocker = $1 AND blocked = $2',
      [blocker, nick],
    );
    return rows.length > 0;
  }

  async blockersIn(room: string, nick: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ blocker: string }>(
      `SELECT b.blocker FROM blocks b JOIN members m ON m.room = $1 AND m.nick = b.blocker
        WHERE b.blocked = $2`,
      [room, nick],
    );
    return rows.map((r) => r.blocker);
  }
}
