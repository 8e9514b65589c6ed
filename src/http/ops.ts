import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatError } from '../domain/errors.js';
import type { Metrics } from '../ops/prometheus.js';
import type { Readiness } from '../ops/readiness.js';

/** What the operations endpoints need. */
export interface OpsDeps {
  readonly metrics: Metrics;
  readonly readiness: Readiness;
  /** config metricsToken: `none` serves /metrics to anyone who can reach the port. */
  readonly metricsToken: string;
}

/** The paths served here (GET and HEAD, for requests that are not event streams). */
const PATHS = new Set(['/metrics', '/healthz', '/readyz']);

/**
 * `/metrics` (Prometheus text format, behind a bearer token when one is configured),
 * `/healthz` (the process runs) and `/readyz` (the dependencies answer and no shutdown began).
 * Nothing here may be cached: every answer is about this moment.
 */
export class OpsEndpoints {
  // A digest of the token: comparing two fixed-length digests in constant time reveals
  // neither the token's characters nor its length.
  private readonly tokenDigest: Buffer | undefined;

  constructor(private readonly deps: OpsDeps) {
    this.tokenDigest = deps.metricsToken === 'none' ? undefined : digest(deps.metricsToken);
  }

  /** Whether `path` is one of the operations endpoints. */
  handles(path: string): boolean {
    return PATHS.has(path);
  }

  /** Answers a GET or HEAD of a path `handles` accepted; errors go to the caller. */
  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/healthz') {
      send(res, 200, 'application/json', JSON.stringify({ status: 'ok' }));
    } else if (path === '/readyz') {
      await this.ready(res);
    } else {
      this.authorize(req, res);
      const { metrics } = this.deps;
      send(res, 200, metrics.contentType, await metrics.scrape());
    }
  }

  private async ready(res: ServerResponse): Promise<void> {
    const report = await this.deps.readiness.check();
    if (report.ready) {
      send(res, 200, 'application/json', JSON.stringify({ status: 'ok', checks: report.checks }));
      return;
    }
    const failed = Object.entries(report.checks)
      .filter(([, outcome]) => outcome !== 'ok')
      .map(([name, outcome]) => `${name} (${outcome})`);
    const error = report.draining
      ? new ChatError('SERVER_UNAVAILABLE')
      : new ChatError('SERVER_NOT_READY', failed.join(', '));
    // The error shape of respond.ts, plus each dependency's answer for the operator.
    const body = { error: { code: error.code, message: error.message }, checks: report.checks };
    send(res, error.status, 'application/json', JSON.stringify(body));
  }

  /** Throws AUTH_METRICS_TOKEN unless the request carries the configured bearer token. */
  private authorize(req: IncomingMessage, res: ServerResponse): void {
    if (this.tokenDigest === undefined) return;
    const match = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (match && timingSafeEqual(digest(match[1] as string), this.tokenDigest)) return;
    res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
    throw new ChatError('AUTH_METRICS_TOKEN');
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A complete uncacheable answer; node:http sends no body for HEAD by itself. */
function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
