import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ChatError } from '../domain/errors.js';
import type { EventId } from '../domain/events.js';

/** What every cursor starts with, so that `before` tells one from a message id. */
export const CURSOR_PREFIX = 'c.';
/** A cursor as the API takes it: the prefix and base64url. */
export const CURSOR_PATTERN = /^c\.[A-Za-z0-9_-]{16,128}$/;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Sealed search cursors. A page stops where the index said the reader's matches go on; the
 * engines read only what the reader sees, but should one ever stop at a row the reader may
 * not see (a room span read as a wider range: sqlite/search.ts MAX_ARMS), a plain id would
 * tell them which hidden message holds the word. So `next` is the position sealed with AES-256-GCM under a server-wide key (kept in the Store,
 * the same on every process of a cluster), bound to the reader and the query as associated
 * data: it opens only for the same reader asking the same thing, and says nothing else.
 */
export class SearchCursors {
  private key: Promise<Buffer> | undefined;

  /** `secret` gives the server-wide secret the key derives from (PushStore.secret). */
  constructor(private readonly secret: () => Promise<string>) {}

  /** `position` sealed for `binding` (the reader and the query: see bindingOf). */
  async seal(binding: string, position: EventId): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', await this.keyOf(), iv);
    cipher.setAAD(Buffer.from(binding));
    const plain = Buffer.alloc(8);
    plain.writeBigUInt64BE(BigInt(position));
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return `${CURSOR_PREFIX}${sealed.toString('base64url')}`;
  }

  /**
   * The position in `cursor`; CHAT_SEARCH_INVALID for a cursor that is not one this server
   * sealed for `binding` (another reader's, another query's, or altered).
   */
  async open(binding: string, cursor: string): Promise<EventId> {
    const sealed = Buffer.from(cursor.slice(CURSOR_PREFIX.length), 'base64url');
    try {
      if (sealed.length !== IV_BYTES + 8 + TAG_BYTES) throw new Error('length');
      const decipher = createDecipheriv(
        'aes-256-gcm',
        await this.keyOf(),
        sealed.subarray(0, IV_BYTES),
      );
      decipher.setAAD(Buffer.from(binding));
      decipher.setAuthTag(sealed.subarray(IV_BYTES + 8));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, IV_BYTES + 8)),
        decipher.final(),
      ]);
      const position = Number(plain.readBigUInt64BE());
      if (!Number.isSafeInteger(position) || position < 1) throw new Error('range');
      return position;
    } catch {
      throw new ChatError(
        'CHAT_SEARCH_INVALID',
        'the cursor is not one this server gave for this search; start again without it',
      );
    }
  }

  private keyOf(): Promise<Buffer> {
    if (this.key === undefined) {
      const key = this.secret().then((s) =>
        createHash('sha256').update('ssechat search cursor\0').update(s).digest(),
      );
      // A store that could not answer is asked again next time.
      key.catch(() => {
        if (this.key === key) this.key = undefined;
      });
      this.key = key;
    }
    return this.key;
  }
}

/** A fresh server-wide secret for SearchCursors, made once (PushStore.secret). */
export function newCursorSecret(): string {
  return randomBytes(32).toString('base64url');
}
