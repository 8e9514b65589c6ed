import type { EventId } from './events.js';

/**
 * Most characters (code points) of a reply's quoted preview: the target's text is cut there,
 * on a grapheme boundary, so that a preview never ends in half a character or half an emoji.
 */
export const REPLY_PREVIEW_CHARS = 200;

/**
 * What a reply shows of the message it answers (`replyTo`), built by the server for each
 * reader when it is read (store.ts) or delivered live (core/hub.ts): the target's current
 * text, cut to REPLY_PREVIEW_CHARS, or `unavailable` when the target was deleted, pruned, or
 * is not one this reader may see by the rule of history.
 */
export type ReplyPreview =
  | {
      readonly id: EventId;
      readonly from: string;
      readonly text: string;
      readonly ts: number;
      /** When the target was last edited; absent if never. */
      readonly edited?: number;
      /** How many files the target carries; absent when none. */
      readonly attachments?: number;
    }
  | { readonly id: EventId; readonly unavailable: true };

/** The target of a reply as an engine reads it for a preview. */
export interface ReplyTarget {
  readonly id: EventId;
  readonly from: string;
  readonly text: string;
  readonly ts: number;
  readonly edited?: number;
  readonly attachments?: number;
}

/** The preview of a target that the reader sees (see ReplyPreview). */
export function replyPreview(target: ReplyTarget): ReplyPreview {
  const { id, from, ts, edited, attachments } = target;
  return {
    id,
    from,
    text: cutPreview(target.text),
    ts,
    ...(edited !== undefined && { edited }),
    ...(attachments !== undefined && attachments > 0 && { attachments }),
  };
}

/** The preview of a target the reader may not see, or that is gone. */
export function unavailable(id: EventId): ReplyPreview {
  return { id, unavailable: true };
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * `text` cut to at most REPLY_PREVIEW_CHARS code points, at the last grapheme boundary that
 * fits (a grapheme longer than the whole bound is dropped rather than split).
 */
export function cutPreview(text: string): string {
  // Fast path: a text of at most the bound in UTF-16 units is within it in code points too.
  if (text.length <= REPLY_PREVIEW_CHARS) return text;
  let out = '';
  let points = 0;
  for (const { segment } of graphemes.segment(text)) {
    let n = 0;
    for (const _ of segment) n++;
    if (points + n > REPLY_PREVIEW_CHARS) break;
    out += segment;
    points += n;
  }
  return out;
}

/**
 * Who among a live reply's readers sees its preview (core/hub.ts); everyone else it reaches
 * gets it `unavailable`. The chat service decides it when the reply is sent, from the
 * target's conversation:
 * - `everyone`: a broadcast's target (every reader sees broadcasts);
 * - `nicks`: the parties of a direct message who see the target (their registration points);
 * - `members`: a room's members whose current membership began at or before `upTo` (their open
 *   span covers the target), or every member when `upTo` is null (a room with history `all`).
 *   A member who saw the target through an earlier span only gets it unavailable live, and
 *   the preview from history: live, the Hub knows only open spans.
 */
export type ReplyReaders =
  | { readonly kind: 'everyone' }
  | { readonly kind: 'nicks'; readonly nicks: readonly string[] }
  | { readonly kind: 'members'; readonly upTo: EventId | null };
