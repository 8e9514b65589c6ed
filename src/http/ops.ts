import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatError } from '../domain/errors.js';
import type { Metrics } from '../ops/prometheus.js';
import type { Readiness } from '../ops/readiness.js';
import { errorObject, sendText } from './reply.js';
import type { Handler } from './router.js';

/** What the operations endpoints need. */
export interface OpsDeps {
  readonly metrics: Metrics;
  readonly readiness: Readiness;
  /** config metricsToken: `none` serves /metrics to anyone who can reach the port. */
  readonly metricsToken: string;
}

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

  /** `GET /healthz`: the process runs. */
  readonly healthz: Handler = (_req, res) => {
    sendText(res, 200, 'application/json', JSON.stringify({ status: 'ok' }));
  };

  /** `GET /readyz`: 200 when the dependencies answer and no shutdown began, else 503. */
  readonly readyz: Handler = (_req, res) => this.ready(res);

  /** `GET /metrics`: the Prometheus text, behind the bearer token when one is configured. */
  readonly metrics: Handler = async (req, res) => {
    this.authorize(req, res);
    const { metrics } = this.deps;
    sendText(res, 200, metrics.contentType, await metrics.scrape());
  };

  private async ready(res: ServerResponse): Promise<void> {
    const report = await this.deps.readiness.check();
    if (report.ready) {
      sendText(
        res,
        200,
        'application/json',
        JSON.stringify({ status: 'ok', checks: report.checks }),
      );
      return;
    }
    const failed = Object.entries(report.checks)
      .filter(([, outcome]) => outcome !== 'ok')
      .map(([name, outcome]) => `${name} (${outcome})`);
    const error = report.draining
      ? new ChatError('SERVER_UNAVAILABLE')
      : new ChatError('SERVER_NOT_READY', failed.join(', '));
    // The error shape of reply.ts, plus each dependency's answer for the operator.
    const body = { ...errorObject(error), checks: report.checks };
    sendText(res, error.status, 'application/json', JSON.stringify(body));
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
