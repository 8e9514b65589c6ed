import type Database from 'better-sqlite3';
import { EVERYONE, type EventId, isRoom } from '../../domain/events.js';
import {
  claimedMentions,
  foldNick,
  type MentionCandidates,
  pickMentions,
} from '../../domain/mentions.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** What a text is resolved against: who sent it where, and the message it is about. */
export interface MentionScope {
  readonly from: string;
  readonly to: string;
  /** NewMessage.claimed: open mode. */
  readonly claimed: boolean;
  /**
   * For an edit, its target: only those who saw the target see the edit (a room's members
   * whose span began at or before it; a DM's recipient registered before it).
   */
  readonly target?: EventId;
}

/**
 * Resolves mentions (domain/mentions.ts) against who can see a message, inside SqliteStore's
 * write transaction, and records the users notified (mention_rows). Each candidate costs one
 * index lookup; there are at most MAX_MENTIONS.
 */
export class SqliteMentions {
  private readonly selectMember: Statement<[string, string], { nick: string }>;
  private readonly selectMemberSince: Statement<[string, string, number], { nick: string }>;
  private readonly selectUser: Statement<[string], { nick: string }>;
  private readonly selectRegistered: Statement<[{ nick: string }], { registered: number }>;
  private readonly insertRow: Statement<[string, number, number, string]>;
  private readonly selectBlocked: Statement<[string, string], { x: number }>;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(db: Database.Database) {
    // lower() folds ASCII only, as foldNick does; members_folded serves it.
    this.selectMember = db.prepare(
      'SELECT nick FROM members WHERE room = ? AND lower(nick) = ? ORDER BY nick',
    );
    this.selectMemberSince = db.prepare(
      'SELECT nick FROM members WHERE room = ? AND lower(nick) = ? AND joined <= ? ORDER BY nick',
    );
    // users.nick is COLLATE NOCASE: the key finds the account whatever its letter case.
    this.selectUser = db.prepare('SELECT nick FROM users WHERE nick = ?');
    // The account of exactly this nick, as SqliteAccounts.registeredAt reads it.
    this.selectRegistered = db.prepare(
      'SELECT registered FROM users WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    this.selectBlocked = db.prepare('SELECT 1 AS x FROM blocks WHERE blocker = ? AND blocked = ?');
    this.insertRow = db.prepare(
      'INSERT INTO mention_rows (nick, event_id, target, recipient) VALUES (?, ?, ?, ?)',
    );
  }

  /**
   * Who `found` mentions among those who see a message sent as `scope` says, but those who
   * block its sender (blocks-store.ts): one more index lookup per user picked.
   */
  resolve(found: MentionCandidates, scope: MentionScope): string[] {
    const picked = this.pick(found, scope);
    if (picked.length === 0) return picked;
    return picked.filter((nick) => this.selectBlocked.get(nick, scope.from) === undefined);
  }

  private pick(found: MentionCandidates, scope: MentionScope): string[] {
    if (found.runs.length === 0) return [];
    const { from, to, target } = scope;
    if (to === EVERYONE) {
      if (scope.claimed) return claimedMentions(found, from);
      return pickMentions(found, (key) => this.selectUser.all(key).map((r) => r.nick), from);
    }
    if (isRoom(to)) {
      const members = (key: string) =>
        (target === undefined
          ? this.selectMember.all(to, key)
          : this.selectMemberSince.all(to, key, target)
        ).map((r) => r.nick);
      return pickMentions(found, members, from);
    }
    // A DM: its two parties; the sender is left out by pickMentions.
    const peer = foldNick(to);
    const picked = pickMentions(found, (key) => (key === peer ? [to] : undefined), from);
    // An edit of a DM sent before the recipient registered is not theirs (store.ts).
    if (picked.length > 0 && target !== undefined) {
      const registered = this.selectRegistered.get({ nick: to })?.registered ?? 0;
      if (target <= registered) return [];
    }
    return picked;
  }

  /** Records that event `id` (about message `target`, sent to `recipient`) notified `nicks`. */
  record(nicks: readonly string[], id: EventId, target: EventId, recipient: string): void {
    for (const nick of nicks) this.insertRow.run(nick, id, target, recipient);
  }
}

/** The mentions column's value: space-separated (nicks hold no spaces), NULL for none. */
export function mentionsColumn(nicks: readonly string[]): string | null {
  return nicks.length === 0 ? null : nicks.join(' ');
}
