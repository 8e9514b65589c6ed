import { createHmac } from 'node:crypto';
import type { Logger } from '../logger.js';

/** Notifications waiting to be sent; past it the oldest is dropped (and logged). */
const MAX_QUEUED = 1_000;
/** Attempts per notification, with a doubling pause from RETRY_BASE_MS between them. */
const ATTEMPTS = 3;
const RETRY_BASE_MS = 500;
/** How long one POST may take. */
const TIMEOUT_MS = 5_000;

/** What a webhook says. */
export interface PresenceNotice {
  readonly type: 'online' | 'offline';
  readonly user: string;
  /** ms since the epoch, when this process saw the change. */
  readonly ts: number;
}

/** Options of the webhook sender. */
export interface WebhookOptions {
  readonly url: string;
  /** HMAC-SHA256 key; the receiver checks X-Ssechat-Signature with it. */
  readonly secret: string;
  readonly logger: Logger;
  /** For tests; the global fetch by default. */
  readonly fetch?: typeof fetch;
}

/**
 * Tells an application when a user comes online or goes offline, so it can switch to push
 * notifications. Presence fires each change once across the cluster, after the grace window
 * (a reconnect within it is no change), so each notice is sent by one process.
 *
 * Each POST carries a JSON body `{type, user, ts}`, `X-Ssechat-Timestamp` and
 * `X-Ssechat-Signature: sha256=<hex HMAC of "<timestamp>.<body>">`; the receiver should
 * check the signature and refuse stale timestamps. Notices go out one at a time in order,
 * each retried up to ATTEMPTS times; a receiver that is down loses the oldest beyond
 * MAX_QUEUED, never the process's memory.
 */
export class Webhooks {
  private readonly queue: PresenceNotice[] = [];
  private sending = false;
  private closed = false;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: WebhookOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  /** Queues a notice. */
  notify(type: PresenceNotice['type'], user: string): void {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUED) {
      const dropped = this.queue.shift();
      this.options.logger.warn('webhook queue full; notice dropped', { user: dropped?.user });
    }
    this.queue.push({ type, user, ts: Date.now() });
    if (!this.sending) void this.run();
  }

  /** Stops sending; queued notices are dropped. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  /** The signature header value for a body sent at `timestamp`. */
  static sign(secret: string, timestamp: string, body: string): string {
    return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  }

  private async run(): Promise<void> {
    this.sending = true;
    try {
      for (let notice = this.queue.shift(); notice; notice = this.queue.shift()) {
        await this.send(notice);
        if (this.closed) return;
      }
    } finally {
      this.sending = false;
    }
  }

  private async send(notice: PresenceNotice): Promise<void> {
    const body = JSON.stringify(notice);
    for (let attempt = 1; attempt <= ATTEMPTS && !this.closed; attempt++) {
      const timestamp = String(Date.now());
      try {
        const res = await this.fetch(this.options.url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'X-Ssechat-Timestamp': timestamp,
            'X-Ssechat-Signature': Webhooks.sign(this.options.secret, timestamp, body),
          },
          body,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        await res.body?.cancel();
        if (res.ok) return;
        this.options.logger.warn('webhook refused', { status: res.status, attempt });
      } catch (err) {
        this.options.logger.warn('webhook failed', { err, attempt });
      }
      await new Promise((ok) => setTimeout(ok, RETRY_BASE_MS * 2 ** (attempt - 1)).unref());
    }
  }
}
