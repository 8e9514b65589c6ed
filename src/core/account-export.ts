import { type EventId, eventId, type StoredMessage } from '../domain/events.js';
import type { RoomListing, Store } from '../store/store.js';

/**
 * Most messages one export holds. Beyond it the export ends with `"truncated": true`: at a
 * few hundred bytes a message that is a download of a few hundred MB, produced page by page
 * and never held whole (see AccountExport.messages).
 */
export const MAX_EXPORT_MESSAGES = 1_000_000;

/** Log entries one page of an export reads: one Store query of the size of a replay page. */
export const EXPORT_PAGE = 1000;

/** The account part of an export. */
export interface ExportedAccount {
  readonly nick: string;
  /** When it registered, ms since the epoch; null in open mode (nobody owns a nick). */
  readonly created: number | null;
}

/**
 * "Export my data" (issue 22): what a user sent and received that they may still see, read
 * through the Store's own visibility rule (its `since` query, the one replay uses), so the
 * export holds exactly what the user's history shows them: broadcasts, their direct messages
 * (above their registration point), and their rooms' messages during their membership. No
 * second copy of the rule here; only the kinds that are not messages are skipped.
 */
export class AccountExport {
  constructor(private readonly store: Store) {}

  /** The account of `nick`. */
  async account(nick: string): Promise<ExportedAccount> {
    return { nick, created: (await this.store.accounts.created(nick)) ?? null };
  }

  /** The rooms `nick` is a member of, with their role. */
  async rooms(nick: string): Promise<RoomListing[]> {
    return (await this.store.rooms(nick)).filter((r) => r.role !== null);
  }

  /**
   * The messages `nick` sees, oldest first, one Store page at a time (EXPORT_PAGE log
   * entries), deleted ones left out, at most `max`; the caller writes each page before the
   * next is read. Ends after the log's head as it was when it began.
   */
  async *messages(
    nick: string,
    max: number = MAX_EXPORT_MESSAGES,
  ): AsyncGenerator<StoredMessage[], { truncated: boolean }> {
    const head: EventId = await this.store.head();
    let after: EventId = 0;
    let count = 0;
    while (after < head) {
      const events = await this.store.since(nick, after, EXPORT_PAGE);
      if (events.length === 0) break;
      const page: StoredMessage[] = [];
      let full = false;
      for (const event of events) {
        if (event.kind !== 'message' || event.message.id > head || event.message.deleted) continue;
        if (count === max) {
          full = true;
          break;
        }
        page.push(event.message);
        count++;
      }
      if (page.length > 0) yield page;
      if (full) return { truncated: true };
      const last = events.at(-1);
      after = last ? eventId(last) : head;
    }
    return { truncated: false };
  }
}
