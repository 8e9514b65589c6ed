import type { Block } from '../domain/blocks.js';
import { ChatError } from '../domain/errors.js';
import type { BlockStore } from '../store/blocks-store.js';

/** What ChatBlocks needs. */
export interface ChatBlocksDeps {
  readonly blocks: BlockStore;
  /** The nick's form check (ChatService.parseNick): a malformed one is 400, not a lookup. */
  readonly parseNick: (raw: string) => string;
  readonly now: () => number;
}

/**
 * A user's blocks (issue 23; domain/blocks.ts). A block takes effect from the next thing
 * its target writes: the Store decides what is withheld in that write's transaction, on
 * every process alike, so nothing here is cached and no process needs telling.
 */
export class ChatBlocks {
  constructor(private readonly deps: ChatBlocksDeps) {}

  /**
   * `blocker` blocks `raw`; returns the block (the first one when it was there already).
   * BLOCK_INVALID for oneself, CHAT_USER_NOT_FOUND without such an account, BLOCKS_FULL past
   * MAX_BLOCKS_PER_USER.
   */
  async block(blocker: string, raw: string): Promise<Block> {
    const nick = this.deps.parseNick(raw);
    if (fold(nick) === fold(blocker)) throw new ChatError('BLOCK_INVALID');
    const block = await this.deps.blocks.block(blocker, nick, this.deps.now());
    if (!block) throw new ChatError('CHAT_USER_NOT_FOUND');
    return block;
  }

  /** Lifts `blocker`'s block of `raw`; false when there was none. */
  async unblock(blocker: string, raw: string): Promise<boolean> {
    return this.deps.blocks.unblock(blocker, this.deps.parseNick(raw));
  }

  /** The users `blocker` blocks, oldest block first. */
  list(blocker: string): Promise<Block[]> {
    return this.deps.blocks.list(blocker);
  }
}

/** Nicks compare with ASCII letters folded, as accounts do. */
function fold(nick: string): string {
  return nick.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
