import { EVERYONE, isRoom, type LoggedEvent } from '../domain/events.js';
import { defaultLevel, notifies } from '../domain/notify.js';
import { type Logger, silentLogger } from '../logger.js';
import type { NotifyStore, PushCandidate } from '../store/notify-store.js';
import type { PushStore, PushSubscriptionRecord } from '../store/push-store.js';

/** What a push carries to the service worker (web/sw.js), encrypted end to end. */
export interface PushPayload {
  readonly title: string;
  readonly body: string;
  /** The conversation to open (a nick, `#room` or `all`); absent when hidden. */
  readonly with?: string;
  /** The message's id; absent when hidden. */
  readonly id?: number;
  /** One notification per conversation: a newer one replaces it. */
  readonly tag: string;
  /** Where a click leads. */
  readonly url: string;
  /** The user's unread messages in all, for the app badge (at most MAX_UNREAD_COUNT). */
  readonly unread: number;
}

/** How urgent a push is (RFC 8030 Urgency): a phone may hold back `normal` ones to save power. */
export type PushUrgency = 'very-low' | 'low' | 'normal' | 'high';

/** Sends pushes off the request path (outbound/push/sender.ts): never waits, never throws. */
export interface PushPort {
  send(
    sub: PushSubscriptionRecord,
    payload: PushPayload,
    options: { readonly urgency: PushUrgency; readonly ttlSeconds: number },
  ): void;
}

/** What PushDispatch needs. */
export interface PushDispatchDeps {
  readonly notify: Pick<
    NotifyStore,
    'claimPushWork' | 'skipPushWork' | 'pushAudience' | 'attentive' | 'unreadTotal'
  >;
  readonly push: Pick<PushStore, 'subscriptions' | 'hideText' | 'anySubscriptions'>;
  /** Whether `nick` has a stream anywhere in the cluster (Presence). */
  readonly isConnected: (nick: string) => Promise<boolean>;
  readonly sender: PushPort;
  /** Accounts mode: mentions notify (see domain/notify.ts). */
  readonly mentionsNotify: boolean;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/**
 * How long a poke waits for more: a push 50 ms later is not noticed, a claim per send under
 * load would be (it is a write transaction).
 */
const POKE_MS = 50;
/** Events claimed per Store round trip. */
const BATCH = 100;
/**
 * How often every process looks for events nobody pushed yet: those appended by a process
 * that died before it pushed them, or by another process (each pokes itself on its own sends).
 */
const SWEEP_MS = 2_000;
/** Longest text a push shows; the rest is for the page. */
const MAX_BODY_CHARS = 200;
/** How long a push service keeps a push for an unreachable browser: a day-old chat is stale. */
const TTL_SECONDS = 24 * 3600;

/**
 * Decides who hears of each new message or edit by Web Push, and hands those pushes to the
 * sender. The work comes from the Store's push cursor (NotifyStore.claimPushWork), which
 * hands each event to one process of the cluster once: a push goes out once per event, not
 * once per process, and an event a dead process did not get to is taken by the next sweep of
 * another (the cursor moved only for events a process claimed, so a crash loses at most the
 * pushes it had claimed).
 *
 * A user hears of an event when it passes their level (domain/notify.ts) and they are away:
 * no stream anywhere, or no browser of theirs looked at lately (NotifyStore.attentive).
 */
export class PushDispatch {
  private readonly logger: Logger;
  private readonly now: () => number;
  private running = false;
  private again = false;
  private closed = false;
  private scheduled: NodeJS.Timeout | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly deps: PushDispatchDeps) {
    this.logger = deps.logger ?? silentLogger;
    this.now = deps.now ?? Date.now;
    this.timer = setInterval(() => this.poke(), SWEEP_MS);
    this.timer.unref();
    // At once: on a new store the first claim sets the cursor at the head (no pushes for
    // history), which must happen before the first message, not on it.
    this.poke();
  }

  /**
   * Looks for new events within POKE_MS (after this process logged a message or an edit):
   * every poke meanwhile joins the same claim, so a burst of sends costs one Store round trip
   * per POKE_MS, not one per message.
   */
  poke(): void {
    if (this.closed || this.scheduled) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.running = true;
      void this.drain().finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
    }, POKE_MS);
    this.scheduled.unref();
  }

  /** Stops sweeping; events not claimed yet are left to other processes or the next start. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.scheduled);
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.closed) return;
        // Nobody subscribed, nobody to push: the cursor moves past the events unread (a server
        // where nobody turned pushes on pays two small statements per claim, nothing a message).
        if (!(await this.deps.push.anySubscriptions())) {
          await this.deps.notify.skipPushWork();
          return;
        }
        const events = await this.deps.notify.claimPushWork(BATCH);
        for (const event of events) await this.dispatch(event);
        if (events.length < BATCH) return;
      }
    } catch (err) {
      // The Store is down: the events stay above the cursor for the next sweep.
      this.logger.warn('push dispatch failed; retrying at the next sweep', { err });
    }
  }

  private async dispatch(event: LoggedEvent): Promise<void> {
    let id: number;
    let from: string;
    let to: string;
    let text: string;
    const isEdit = event.kind === 'edit';
    if (event.kind === 'message') {
      if (event.message.deleted) return;
      ({ id, from, to, text } = event.message);
      // A message of files alone reads as the page's notification does (web/attachments.js).
      const files = event.message.attachments ?? [];
      if (text === '' && files.length > 0) {
        text = files.length === 1 ? `📎 ${files[0]?.name}` : `📎 ${files.length} files`;
      }
    } else if (event.kind === 'edit') {
      if (!event.edit.added?.length) return;
      ({ from, to, text } = event.edit);
      id = event.edit.target;
    } else {
      return;
    }
    const candidates = await this.deps.notify.pushAudience(eventIdOf(event));
    const wanted = candidates.filter((c) =>
      notifies(
        c.level ?? defaultLevel(conversationOf(c, from, to)),
        c.mentioned,
        isEdit,
        this.deps.mentionsNotify,
      ),
    );
    if (wanted.length === 0) return;
    const away = await this.away(wanted.map((c) => c.nick));
    if (away.length === 0) return;
    const subs = await this.deps.push.subscriptions(away);
    const byNick = new Map<string, PushSubscriptionRecord[]>();
    for (const sub of subs) byNick.set(sub.nick, [...(byNick.get(sub.nick) ?? []), sub]);
    for (const c of wanted) {
      const mine = byNick.get(c.nick);
      if (!mine) continue;
      const conversation = conversationOf(c, from, to);
      const payload = await this.payload(c.nick, conversation, from, to, text, id);
      const urgency: PushUrgency = c.mentioned || !isRoom(to) ? 'high' : 'normal';
      for (const sub of mine)
        this.deps.sender.send(sub, payload, { urgency, ttlSeconds: TTL_SECONDS });
    }
  }

  /** Those of `nicks` who are away: no stream, or no browser looked at within its time. */
  private async away(nicks: string[]): Promise<string[]> {
    const attentive = await this.deps.notify.attentive(nicks, this.now());
    const out: string[] = [];
    for (const nick of nicks) {
      if (!attentive.has(nick) || !(await this.deps.isConnected(nick))) out.push(nick);
    }
    return out;
  }

  private async payload(
    nick: string,
    conversation: string,
    from: string,
    to: string,
    text: string,
    id: number,
  ): Promise<PushPayload> {
    // The badge only: unreadTotal stops at MAX_UNREAD_COUNT rows, where the full counts
    // (unread) would cost every push a pass over the user's conversations.
    const [hide, total] = await Promise.all([
      this.deps.push.hideText(nick),
      this.deps.notify.unreadTotal(nick),
    ]);
    if (hide)
      return { title: 'ssechat', body: 'New message', tag: 'ssechat', url: '/', unread: total };
    const where = to === EVERYONE ? ' to everyone' : isRoom(to) ? ` in ${to}` : '';
    return {
      title: `${from}${where}`,
      body: cut(text),
      with: conversation,
      id,
      tag: `ssechat:${conversation}`,
      url: `/#${encodeURIComponent(conversation)}`,
      unread: total,
    };
  }
}

/** `text` within MAX_BODY_CHARS code points, with an ellipsis when cut (never mid-pair). */
function cut(text: string): string {
  if (text.length <= MAX_BODY_CHARS) return text;
  const points = [...text];
  return points.length <= MAX_BODY_CHARS
    ? text
    : `${points.slice(0, MAX_BODY_CHARS - 1).join('')}…`;
}

/** The logged id of a message or edit. */
function eventIdOf(event: LoggedEvent & { kind: 'message' | 'edit' }): number {
  return event.kind === 'message' ? event.message.id : event.edit.id;
}

/** The conversation an event is in, as candidate `c` names it: a DM's other party is its peer. */
function conversationOf(c: PushCandidate, from: string, to: string): string {
  if (to === EVERYONE || isRoom(to)) return to;
  return c.nick === to ? from : to;
}
