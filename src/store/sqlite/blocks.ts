import type Database from 'better-sqlite3';
import { type Block, MAX_BLOCKS_PER_USER } from '../../domain/blocks.js';
import { ChatError } from '../../domain/errors.js';
import type { BlockStore } from '../blocks-store.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** The BlockStore of SqliteStore (see blocks-store.ts). */
export class SqliteBlocks implements BlockStore {
  private readonly selectUser: Statement<[string], { nick: string }>;
  private readonly selectBlock: Statement<[string, string], Block>;
  private readonly countBlocks: Statement<[string], { n: number }>;
  private readonly insertBlock: Statement<[string, string, number]>;
  private readonly deleteBlock: Statement<[string, string]>;
  private readonly selectList: Statement<[string, number], Block>;
  private readonly selectBlockersIn: Statement<[string, string], { blocker: string }>;
  private readonly blockTx: (blocker: string, nick: string, now: number) => Block | undefined;

  /** Prepares its statements on `db`; `flush` commits queued appends (written before a change). */
  constructor(
    db: Database.Database,
    private readonly flush: () => void,
  ) {
    // users.nick is COLLATE NOCASE: the key finds the account whatever its letter case.
    this.selectUser = db.prepare('SELECT nick FROM users WHERE nick = ?');
    this.selectBlock = db.prepare(
      'SELECT blocked AS nick, since FROM blocks WHERE blocker = ? AND blocked = ?',
    );
    this.countBlocks = db.prepare('SELECT count(*) AS n FROM blocks WHERE blocker = ?');
    this.insertBlock = db.prepare('INSERT INTO blocks (blocker, blocked, since) VALUES (?, ?, ?)');
    this.deleteBlock = db.prepare(
      'DELETE FROM blocks WHERE blocker = ? AND lower(blocked) = lower(?)',
    );
    this.selectList = db.prepare(
      'SELECT blocked AS nick, since FROM blocks WHERE blocker = ? ORDER BY since, blocked LIMIT ?',
    );
    this.selectBlockersIn = db.prepare(
      `SELECT b.blocker FROM blocks b JOIN members m ON m.room = ? AND m.nick = b.blocker
        WHERE b.blocked = ?`,
    );
    const tx = db.transaction((blocker: string, nick: string, now: number) => {
      const user = this.selectUser.get(nick)?.nick;
      if (user === undefined) return undefined;
      const had = this.selectBlock.get(blocker, user);
      if (had) return had;
      if ((this.countBlocks.get(blocker)?.n ?? 0) >= MAX_BLOCKS_PER_USER) {
        throw new ChatError('BLOCKS_FULL');
      }
      this.insertBlock.run(blocker, user, now);
      return { nick: user, since: now };
    });
    this.blockTx = (blocker, nick, now) => tx.immediate(blocker, nick, now);
  }

  async block(blocker: string, nick: string, now: number): Promise<Block | undefined> {
    this.flush();
    return this.blockTx(blocker, nick, now);
  }

  async unblock(blocker: string, nick: string): Promise<boolean> {
    this.flush();
    return this.deleteBlock.run(blocker, nick).changes > 0;
  }

  async list(blocker: string): Promise<Block[]> {
    return this.selectList.all(blocker, MAX_BLOCKS_PER_USER);
  }

  async blocks(blocker: string, nick: string): Promise<boolean> {
    return this.selectBlock.get(blocker, nick) !== undefined;
  }

  async blockersIn(room: string, nick: string): Promise<string[]> {
    return this.selectBlockersIn.all(room, nick).map((r) => r.blocker);
  }
}
