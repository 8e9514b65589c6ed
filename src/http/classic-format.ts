import type { Greeting } from '../core/chat.js';
import type { Format } from '../core/subscriber.js';
import {
  type ChatEvent,
  EVERYONE,
  type EventId,
  isRoom,
  type StoredMessage,
} from '../domain/events.js';

/**
 * One SSE frame of the seed's protocol: `data: <line>` and a blank line. Stored messages also
 * carry `id: <n>` (old pages ignore it; it is what a later resume will use). Text with line
 * breaks (normalized to LF by parseText) becomes several `data:` lines, which EventSource
 * joins back with LF, so no text can end a frame early or inject a field.
 */
export function classicFrame(line: string, id?: EventId): string {
  const data = line.includes('\n') ? line.replaceAll('\n', '\ndata: ') : line;
  return id === undefined ? `data: ${data}\n\n` : `id: ${id}\ndata: ${data}\n\n`;
}

/**
 * The seed's `date("Y-m-d H:i")`: the send time in the server's local time zone (TZ), which
 * is UTC unless the operator sets one.
 */
export function seedTimestamp(ts: number): string {
  const d = new Date(ts);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * A message's text as the seed's lines show it: as typed, then each file it carries as
 * `[name: /api/v1/uploads/<id>]`, so that an old page sees that something was shared and where
 * (the link needs a session of the JSON API, as the file is served only to who may see it).
 */
export function classicText(m: StoredMessage): string {
  if (m.attachments === undefined) return m.text;
  const files = m.attachments.map((a) => `[${a.name}: /api/v1/uploads/${a.id}]`);
  return m.text === '' ? files.join(' ') : `${m.text} ${files.join(' ')}`;
}

/** The text lines of the 2012 post, byte for byte. */
export class ClassicFormat implements Format {
  /**
   * The last greeting's list and its `now online:` frame. Presence hands out one frozen list
   * until someone comes or goes, and each new one is the last plus the newcomers at its end
   * (in order of arrival) unless someone left: a crowd logging in then extends the text by
   * its new names, instead of joining thousands of names again for every login (issue 24).
   */
  private lastOnline: readonly string[] = [];
  private lastOnlineText = '';

  render(event: ChatEvent, viewer: string): string | null {
    switch (event.kind) {
      case 'joined':
        return classicFrame(`${event.nick} has joined.`);
      case 'left':
        return classicFrame(`${event.nick} has left.`);
      case 'message':
        return this.message(event.message, viewer);
      case 'read':
      case 'member':
      case 'edit':
      case 'delete':
      case 'react':
      case 'typing':
      case 'own':
      case 'profile':
      case 'listed':
      case 'sanction':
      case 'room':
      // A presence snapshot cannot be said in the seed's lines: a classic page keeps the list
      // it was greeted with, and joins and leaves from then on (docs/cluster.md).
      case 'presence':
        // The seed has none of these (nor rooms); old pages would show them as chat lines.
        return null;
    }
  }

  /** The stream's first lines: welcome, who is online, then the offline mailbox. */
  greeting(nick: string, greeting: Greeting): string {
    // Not classicFrame for the list: nicks hold no line break (parseNick: no whitespace), and
    // scanning a crowd's thousands of names for one was much of a greeting's cost.
    let out = `${classicFrame(`Welcome ${nick}!`)}data: now online: ${this.online(greeting.online)}\n\n`;
    for (const m of greeting.offline) {
      out += classicFrame(`${m.from} (${seedTimestamp(m.ts)}): ${classicText(m)}`, m.id);
    }
    return out;
  }

  /** `online` joined with `, `, from the last list's text when `online` extends that list. */
  private online(online: readonly string[]): string {
    const last = this.lastOnline;
    if (online === last) return this.lastOnlineText;
    let extends_ = last.length > 0 && online.length >= last.length;
    // Pointer comparisons mostly (the same nick strings): far cheaper than joining anew.
    for (let i = 0; extends_ && i < last.length; i++) extends_ = online[i] === last[i];
    const rest = online.slice(extends_ ? last.length : 0).join(', ');
    const text = !extends_
      ? rest
      : rest === ''
        ? this.lastOnlineText
        : `${this.lastOnlineText}, ${rest}`;
    this.lastOnline = online;
    this.lastOnlineText = text;
    return text;
  }

  private message(m: StoredMessage, viewer: string): string | null {
    if (isRoom(m.to)) return null;
    const text = classicText(m);
    if (m.to === EVERYONE) return classicFrame(`${m.from} to all: ${text}`, m.id);
    if (viewer === m.from) {
      const note = m.offline ? ' (offline)' : '';
      return classicFrame(`You to ${m.to}${note}: ${text}`, m.id);
    }
    // As in the seed, a message stored for an offline user waits for their next login.
    if (m.offline) return null;
    return classicFrame(`${m.from}: ${text}`, m.id);
  }
}
