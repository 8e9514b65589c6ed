// Who hears of what: the notification rules of issue 19, stated once for the push dispatcher
// (core/push-dispatch.ts) and mirrored by the page's desktop notifications (web/notify-rules.js).
import { EVERYONE, isRoom } from './events.js';

/** How much of a conversation reaches a user as a notification (desktop or push). */
export type NotifyLevel = 'all' | 'mentions' | 'none';

/** The levels a user may choose. */
export const NOTIFY_LEVELS: readonly NotifyLevel[] = ['all', 'mentions', 'none'];

/** The level of a conversation nobody chose one for: every DM, only mentions elsewhere. */
export const DEFAULT_LEVELS = { direct: 'all', room: 'mentions', all: 'mentions' } as const;

/** The default level of `conversation` (a peer's nick, a `#room` or `all`). */
export function defaultLevel(conversation: string): NotifyLevel {
  if (conversation === EVERYONE) return DEFAULT_LEVELS.all;
  return isRoom(conversation) ? DEFAULT_LEVELS.room : DEFAULT_LEVELS.direct;
}

/**
 * Whether a message (or an edit: `isEdit`) reaches a user as a notification at `level`:
 * `all` for every new message and for an edit that mentions them anew, `mentions` only when
 * they are mentioned (anew, for an edit), `none` never. Mentions count only when
 * `mentionsNotify` (accounts mode: in open mode anyone can claim a nick, so a mention proves
 * nothing about who is meant).
 */
export function notifies(
  level: NotifyLevel,
  mentioned: boolean,
  isEdit: boolean,
  mentionsNotify: boolean,
): boolean {
  const mention = mentioned && mentionsNotify;
  switch (level) {
    case 'none':
      return false;
    case 'mentions':
      return mention;
    case 'all':
      return isEdit ? mention : true;
  }
}

/**
 * How long one "I am looking" report (`PUT /api/v1/attention`, visible) counts. The page
 * repeats it every 25 s while visible, so a laptop that sleeps without saying so is away
 * within a minute.
 */
export const ATTENTION_TTL_MS = 60_000;

/**
 * How long a client still counts as looking after it said it was hidden: a quick switch to
 * another window and back should not send a push to the phone.
 */
export const HIDDEN_GRACE_MS = 10_000;
