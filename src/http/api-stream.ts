import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Greeting } from '../core/chat.js';
import type { ResetReason, Resume } from '../core/resume.js';
import { ApiFormat, apiFrame, apiMessage } from './api-format.js';
import type { Identity } from './auth.js';
import { type StreamDeps, StreamOpener } from './open-stream.js';
import type { SseStream } from './sse/stream.js';

/**
 * Bytes of a replay's last page that may go out in one write with the greeting (and at most a
 * quarter of --max-queue-bytes, which counts all of that write at once).
 */
const MAX_TAIL_BYTES = 16_384;

/** What the event stream needs. */
export interface ApiStreamDeps extends StreamDeps {
  readonly resume: Resume;
  /** See config presenceGraceMs. */
  readonly graceMs: number;
  /** See config heartbeatMs: told to the client in `hello`, for its dead-stream watchdog. */
  readonly heartbeatMs: number;
  /** See config bigRoomMembers: past it, presence is a count (ApiFormat). */
  readonly crowd: number;
}

/**
 * `GET /api/v1/events`: one stream with everything `identity` sees. The order of the opening
 * frames depends on how the client came:
 *
 * - fresh (no Last-Event-ID): `hello` (with `id:` = head), then the offline mailbox as
 *   `message` events without `id:`, so the client's resume point stays at the head;
 * - resuming: every missed event the user sees, in order with their ids, then `hello`;
 * - resuming from an id that cannot be replayed exactly: `reset` with the reason, `hello`, then
 *   the mailbox as for a fresh stream.
 *
 * Live events follow, minus any the replay already carried.
 */
export class ApiStream {
  private readonly format: ApiFormat;
  private readonly streams: StreamOpener;

  constructor(private readonly deps: ApiStreamDeps) {
    this.format = new ApiFormat(deps.heartbeatMs, deps.crowd);
    this.streams = new StreamOpener(deps, 'api');
  }

  /** Opens the stream; `lastEventId` is the header, or the query parameter for polyfills. */
  open(req: IncomingMessage, res: ServerResponse, identity: Identity, lastEventId?: string): void {
    this.streams.open({
      req,
      res,
      nick: identity.nick,
      format: this.format,
      credential: identity.credential.id,
      graceMs: this.deps.graceMs,
      start: (sub, greeting) => this.start(sub, greeting, lastEventId),
    });
  }

  private async start(
    sub: SseStream,
    greeting: Greeting,
    lastEventId: string | undefined,
  ): Promise<void> {
    const { head, online } = greeting;
    const hello = this.format.hello(sub.nick, head, online);
    const plan = await this.deps.resume.plan(lastEventId, head);
    let reset: ResetReason | undefined = plan.kind === 'reset' ? plan.reason : undefined;
    // The replay's last page goes out with what follows it: one write for a short replay.
    let tail = '';
    if (plan.kind === 'replay') ({ reset, tail } = await this.replay(sub, plan.after, head));
    if (reset) this.deps.stats.resets[reset]++;
    if (plan.kind === 'replay' && reset === undefined) {
      // An exact resume: the replay carried every mailbox message the client had not seen.
      sub.open(tail + hello, head);
      return;
    }
    // Fresh, or a reset: the client starts over at the head, so the messages that waited for
    // it come after hello, without `id:` (they are older than the head).
    let mailbox = '';
    for (const m of greeting.offline) {
      mailbox += apiFrame('message', { ...apiMessage(m), offline: true });
    }
    sub.open(tail + (reset ? this.format.reset(reset, head) : '') + hello + mailbox, head);
  }

  /**
   * Writes the missed events at the client's pace, but for the last page, which it returns
   * (`tail`) for the caller to write with the frames that follow; also returns why it stopped
   * short, if it did.
   */
  private async replay(
    sub: SseStream,
    after: number,
    head: number,
  ): Promise<{ reset: ResetReason | undefined; tail: string }> {
    const pages = this.deps.resume.replay(sub.nick, after, head);
    let replayed = 0;
    let tail = '';
    try {
      for (;;) {
        const next = await pages.next();
        if (next.done) return { reset: next.value, tail };
        if (sub.isClosed) return { reset: undefined, tail: '' };
        await sub.writeReplay(tail);
        tail = '';
        for (const event of next.value) tail += this.format.render(event) ?? '';
        replayed += next.value.length;
        // A long page goes at the client's pace too: written with the greeting, it would
        // count against --max-queue-bytes all at once.
        if (Buffer.byteLength(tail) > Math.min(MAX_TAIL_BYTES, this.deps.maxQueueBytes / 4)) {
          await sub.writeReplay(tail);
          tail = '';
        }
      }
    } finally {
      this.deps.stats.replayEvents.observe(replayed);
    }
  }
}
