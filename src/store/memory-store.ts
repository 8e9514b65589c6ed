import type { NewMessage, StoredMessage } from '../core/events.js';
import { ChatError } from '../errors.js';
import type { Store, StoreLimits } from './store.js';

/**
 * A Store that lives in this process's memory and is gone when it exits. For tests and for
 * `--store memory` (a demo with nothing on disk). Only mailboxes are kept; delivered messages
 * are not retained, since nothing reads them back yet.
 */
export class MemoryStore implements Store {
  private lastId = 0;
  private readonly mailboxes = new Map<string, StoredMessage[]>();

  constructor(private readonly limits: StoreLimits) {}

  async append(message: NewMessage): Promise<StoredMessage> {
    let box: StoredMessage[] | undefined;
    if (message.offline) {
      box = this.mailboxes.get(message.to) ?? [];
      if (box.length >= this.limits.maxOfflinePerUser) throw new ChatError('CHAT_MAILBOX_FULL');
    }
    const stored: StoredMessage = { ...message, id: ++this.lastId };
    if (box) {
      box.push(stored);
      this.mailboxes.set(message.to, box);
    }
    return stored;
  }

  async takeOffline(nick: string): Promise<StoredMessage[]> {
    const box = this.mailboxes.get(nick) ?? [];
    this.mailboxes.delete(nick);
    return box;
  }

  async close(): Promise<void> {}
}
