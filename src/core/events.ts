import { ChatError } from '../errors.js';

/**
 * Event ids are positive safe integers assigned by the Store, strictly increasing in append
 * order within one store. They travel on the wire as decimal `id:` lines.
 */
export type EventId = number;

/** The recipient name that addresses every connected user. */
export const EVERYONE = 'all';

/** A message as the chat service hands it to the Store. */
export interface NewMessage {
  /** Sender nick. The sender need not be online (the seed allows that). */
  readonly from: string;
  /** Recipient nick, or `all` for a broadcast. */
  readonly to: string;
  readonly text: string;
  /** Milliseconds since the epoch, taken when the server accepted the message. */
  readonly ts: number;
  /** True when the recipient was offline: the Store also puts it in their mailbox. */
  readonly offline: boolean;
  /**
   * The sender's own id for this send (JSON API), which makes a retry idempotent: a second
   * append with the same sender and clientId stores nothing and returns the first message.
   * Absent (the key is not set) for sends without one.
   */
  readonly clientId?: string;
}

/** A message after the Store has made it durable and given it an id. */
export interface StoredMessage extends NewMessage {
  readonly id: EventId;
}

/**
 * The stored form of `message` under `id`: a copy of its fields (never of extra ones a caller
 * may have added), with `clientId` only when it has one, so stored messages compare equal
 * however a backend built them.
 */
export function storedMessage(message: NewMessage, id: EventId): StoredMessage {
  const { from, to, text, ts, offline, clientId } = message;
  return { from, to, text, ts, offline, ...(clientId !== undefined && { clientId }), id };
}

/**
 * A read receipt: `from` has read everything up to and including message `upTo`, which `to`
 * sent. It is logged like a message, so a sender who was away gets it on resume.
 */
export interface NewReceipt {
  readonly from: string;
  readonly to: string;
  readonly upTo: EventId;
  readonly ts: number;
}

/** A receipt after the Store has given it an id (from the same sequence as messages). */
export interface StoredReceipt extends NewReceipt {
  readonly id: EventId;
}

/**
 * What travels on the Bus and reaches the Hub on every process. Messages carry their Store id;
 * receipts too; presence changes are ephemeral and carry none. `origin` on `joined` is the connection that
 * joined: the seed announces a login to every *other* connection, so the Hub skips that one.
 */
export type ChatEvent =
  | { readonly kind: 'message'; readonly message: StoredMessage }
  | { readonly kind: 'read'; readonly receipt: StoredReceipt }
  | {
      readonly kind: 'joined';
      readonly nick: string;
      readonly origin: string;
      /** True for the user's first connection (after any grace window): they came online. */
      readonly first: boolean;
    }
  | { readonly kind: 'left'; readonly nick: string };

/** The events the Store logs, with an id, and replays on resume. */
export type LoggedEvent = Extract<ChatEvent, { kind: 'message' | 'read' }>;

/** The id of a logged event. */
export function eventId(event: LoggedEvent): EventId {
  return event.kind === 'message' ? event.message.id : event.receipt.id;
}

/** Limits on user input, each from config (see config.ts for defaults and bounds). */
export interface InputLimits {
  /** Longest nick, in Unicode code points. */
  readonly maxNickLength: number;
  /** Longest message text, in Unicode code points. */
  readonly maxMessageLength: number;
}

// Whitespace, control and format characters, separators, and the characters that carry
// structure in our URLs (`/ ? # % +`), in the classic text lines (`:` and `,` in
// "now online: a, b") or in HTML (`< > " ' & \``). Everything else, in any script, is allowed.
const NICK_FORBIDDEN = /[\s\p{C}\p{Z}/?#%+:,<>"'&`\\]/u;

/**
 * Validates and normalizes (NFC) a nick, or throws CHAT_NICK_INVALID / CHAT_NICK_RESERVED with
 * a reason a client can show.
 */
export function parseNick(raw: string, limits: InputLimits): string {
  if (!raw.isWellFormed()) throw new ChatError('CHAT_NICK_INVALID', 'not valid Unicode');
  const nick = raw.normalize('NFC');
  if (nick.length === 0) throw new ChatError('CHAT_NICK_INVALID', 'empty');
  if (exceeds(nick, limits.maxNickLength)) {
    throw new ChatError('CHAT_NICK_INVALID', `longer than ${limits.maxNickLength} characters`);
  }
  const bad = NICK_FORBIDDEN.exec(nick);
  if (bad) {
    throw new ChatError('CHAT_NICK_INVALID', `character ${describe(bad[0])} is not allowed`);
  }
  // Reserved in any letter case, so that "All" cannot pose as the broadcast address.
  if (nick.toLowerCase() === EVERYONE) {
    throw new ChatError('CHAT_NICK_RESERVED', `"${EVERYONE}" addresses everyone`);
  }
  return nick;
}

/** Validates a recipient: `all`, or a nick. */
export function parseRecipient(raw: string, limits: InputLimits): string {
  return raw === EVERYONE ? EVERYONE : parseNick(raw, limits);
}

// C0 controls other than TAB, LF and CR, DEL and the C1 controls. NUL is among them: some
// clients treat it as end of string. LF and CR are allowed and framed as several `data:` lines.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const TEXT_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/**
 * Validates message text. Line breaks are kept, normalized to LF (an SSE frame splits them
 * into several `data:` lines, which EventSource joins back with LF). Empty text is allowed,
 * as in the seed.
 */
export function parseText(raw: string, limits: InputLimits): string {
  if (!raw.isWellFormed()) throw new ChatError('CHAT_TEXT_INVALID', 'not valid Unicode');
  const bad = TEXT_FORBIDDEN.exec(raw);
  if (bad) throw new ChatError('CHAT_TEXT_INVALID', `control character ${describe(bad[0])}`);
  const text = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw;
  if (exceeds(text, limits.maxMessageLength)) {
    throw new ChatError('CHAT_TEXT_TOO_LONG', `longer than ${limits.maxMessageLength} characters`);
  }
  return text;
}

/** True when `s` has more than `max` code points; cheap when its UTF-16 length is within. */
function exceeds(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

function describe(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return cp > 0x20 && cp !== 0x7f ? `"${ch}" (${hex})` : hex;
}
