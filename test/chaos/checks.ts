/**
 * The chaos run's checks, made once the cluster is healed and quiet (presence also after each
 * Redis fault). What they compare with
 * is read from PostgreSQL directly (not through ssechat), and each check lists every breach it
 * finds, so that one run tells the whole story:
 *
 * - sends: every acknowledged send is stored exactly once, under the id it was answered with;
 *   a clientId never got two different ids nor two rows; no send's text is stored twice; no row
 *   the run did not send.
 * - readers: in each segment of a reader (from its first hello, or from a reset), it received
 *   every event it may see (broadcasts, DMs to or from it) exactly once and in increasing id
 *   order; a segment a reset ended is checked up to the last event it received.
 * - presence: each node's view (a fresh stream's hello) and each reader's own view (hello, then
 *   join, leave and presence) is exactly the set of readers, who all hold an open stream. The
 *   same comparison (presenceViews) also runs during the fault phase, after each Redis fault
 *   has healed and settled (run.ts).
 * - nodes: no node exited unless the run stopped it; a SIGTERM exits 0; every node runs,
 *   answers /readyz 200, acknowledges a send and opens a stream.
 */
import { request } from 'node:http';
import type pg from 'pg';
import type { ChaosNode, UnexpectedExit } from './nodes.js';
import { probeStatus } from './nodes.js';
import { sleep } from './prng.js';
import type { Reader } from './readers.js';
import { postMessage, type SendRecord } from './senders.js';

/** One check's outcome: its breaches, none when it passed. */
export interface CheckResult {
  readonly name: string;
  readonly breaches: string[];
}

interface Row {
  id: number;
  sender: string;
  client_id: string | null;
  text: string;
  kind: string;
}

/** Counts for the summary. */
export interface SendCounts {
  acked: number;
  rows: number;
  unackedStored: number;
  unackedAbsent: number;
  attempts: number;
}

/** The sends check; see the file comment. */
export async function checkSends(
  db: pg.Client,
  sends: readonly SendRecord[],
): Promise<{ result: CheckResult; counts: SendCounts }> {
  const breaches: string[] = [];
  const { rows } = await db.query<Row>(
    'SELECT id::int AS id, sender, client_id, text, kind FROM chaos.messages ORDER BY id',
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const byClient = new Map<string, Row[]>();
  const byText = new Map<string, number>();
  for (const r of rows) {
    if (r.kind !== 'message') breaches.push(`row ${r.id} is a ${r.kind}: the run sends none`);
    const key = `${r.sender}\u0000${r.client_id}`;
    byClient.set(key, [...(byClient.get(key) ?? []), r]);
    byText.set(r.text, (byText.get(r.text) ?? 0) + 1);
  }
  const issued = new Set<string>();
  const counts: SendCounts = {
    acked: 0,
    rows: rows.length,
    unackedStored: 0,
    unackedAbsent: 0,
    attempts: 0,
  };
  for (const s of sends) {
    const key = `${s.sender}\u0000${s.clientId}`;
    issued.add(key);
    counts.attempts += s.attempts;
    const stored = byClient.get(key) ?? [];
    const ids = [...s.ackIds];
    if (ids.length > 1) breaches.push(`${s.clientId} acknowledged with ids ${ids.join(', ')}`);
    if (stored.length > 1) {
      breaches.push(`${s.clientId} stored ${stored.length} times: ${stored.map((r) => r.id)}`);
    }
    if (ids.length === 0) {
      if (stored.length === 0) counts.unackedAbsent++;
      else counts.unackedStored++;
      continue;
    }
    counts.acked++;
    const row = byId.get(ids[0] as number);
    if (!row) breaches.push(`${s.clientId}: acknowledged id ${ids[0]} is not stored (lost)`);
    else if (row.sender !== s.sender || row.client_id !== s.clientId || row.text !== s.text) {
      breaches.push(
        `${s.clientId}: acknowledged id ${ids[0]} holds ${row.client_id} of ${row.sender}`,
      );
    }
  }
  for (const r of rows) {
    if (!issued.has(`${r.sender}\u0000${r.client_id}`)) {
      breaches.push(`row ${r.id} (${r.sender}, ${r.client_id}) was not sent by the run`);
    }
  }
  for (const [text, n] of byText) if (n > 1) breaches.push(`"${text}" stored ${n} times`);
  return { result: { name: 'sends stored exactly once', breaches: cap(breaches) }, counts };
}

/** The readers check; see the file comment. `end` is the last id every reader must reach. */
export async function checkReaders(
  db: pg.Client,
  readers: readonly Reader[],
  end: number,
): Promise<CheckResult> {
  const breaches: string[] = [];
  for (const r of readers) {
    for (const d of r.disorder) breaches.push(`${r.nick}: ${d}`);
    if (r.segments.length === 0) breaches.push(`${r.nick}: never got a hello`);
    for (const [i, seg] of r.segments.entries()) {
      const last = i === r.segments.length - 1;
      const upTo = last ? end : (seg.ids.at(-1) ?? seg.start);
      const { rows } = await db.query<{ id: number }>(
        `SELECT id::int AS id FROM chaos.messages
          WHERE id > $1 AND id <= $2 AND kind = 'message'
            AND (recipient = 'all' OR recipient = $3 OR sender = $3)
          ORDER BY id`,
        [seg.start, upTo, r.nick],
      );
      const expected = new Set(rows.map((x) => x.id));
      const seen = new Set(seg.ids.filter((id) => id <= upTo));
      const missing = [...expected].filter((id) => !seen.has(id));
      const extra = [...seen].filter((id) => !expected.has(id));
      const where = `${r.nick} segment ${i + 1} (${seg.start}, ${upTo}]`;
      if (missing.length > 0) {
        breaches.push(`${where}: missed ${missing.length} of ${expected.size}: ${ids(missing)}`);
      }
      if (extra.length > 0)
        breaches.push(`${where}: got ${extra.length} it may not see: ${ids(extra)}`);
    }
  }
  return { name: 'readers saw every event once, in order', breaches: cap(breaches) };
}

/** A fresh stream's hello on `url`: its online list, or undefined after `timeoutMs`. */
export function helloOnline(
  url: string,
  cookie: string,
  timeoutMs = 10_000,
): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    let buffer = '';
    const timer = setTimeout(() => {
      req.destroy();
      resolve(undefined);
    }, timeoutMs);
    const req = request(
      `${url}/api/v1/events`,
      { agent: false, headers: { Accept: 'text/event-stream', Cookie: cookie } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          const m = /event: hello\ndata: (.*)\n/.exec(buffer);
          if (!m) return;
          clearTimeout(timer);
          req.destroy();
          resolve((JSON.parse(m[1] as string) as { online: string[] }).online);
        });
        res.on('end', () => resolve(undefined));
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** One comparison of every view of presence with the readers' open streams. */
export interface PresenceViews {
  /** Breaches of the nodes' views (and readers with no open stream). */
  readonly nodes: string[];
  /** Breaches of the readers' own views. */
  readonly readers: string[];
  /** Per node: whether a fresh stream got its hello. */
  readonly hellos: boolean[];
}

/**
 * Compares, once, each node's view (a fresh stream's hello, opened by that node's probe user)
 * and each reader's live view (hello, join, leave, presence) with the set of readers that hold
 * an open stream. Probe users are left out of every list.
 */
export async function presenceViews(
  nodes: readonly ChaosNode[],
  readers: readonly Reader[],
  probes: readonly string[],
): Promise<PresenceViews> {
  const isProbe = (nick: string): boolean => nick.startsWith('probe');
  const onlines = await Promise.all(
    nodes.map((node, i) => helloOnline(node.url, probes[i] as string, 5000)),
  );
  // Who holds a stream, taken after the hellos: a reader that came back meanwhile counts.
  const open = readers.filter((r) => r.live).map((r) => r.nick);
  const expected = new Set(open);
  const nodeBreaches: string[] = [];
  for (const r of readers) if (!r.live) nodeBreaches.push(`reader ${r.nick} has no open stream`);
  for (const [i, node] of nodes.entries()) {
    const online = onlines[i];
    if (!online) {
      nodeBreaches.push(`node ${node.name}: no hello within 5 s`);
      continue;
    }
    const diff = compare(new Set(online.filter((n) => !isProbe(n))), expected);
    if (diff) nodeBreaches.push(`node ${node.name}: a fresh hello lists ${diff}`);
    if (new Set(online).size !== online.length)
      nodeBreaches.push(`node ${node.name}: hello lists a user twice`);
  }
  const readerBreaches: string[] = [];
  for (const r of readers) {
    if (!r.live) continue;
    const view = new Set([...r.view].filter((n) => !isProbe(n) && n !== r.nick));
    const diff = compare(view, new Set(open.filter((n) => n !== r.nick)));
    const where = nodes.find((n) => n.url === r.url)?.name ?? '?';
    if (diff) readerBreaches.push(`${r.nick}'s view (stream on ${where}): ${diff}`);
  }
  return {
    nodes: nodeBreaches,
    readers: readerBreaches,
    hellos: onlines.map((o) => o !== undefined),
  };
}

/**
 * Compares every view of presence (presenceViews) until all are right or `retryMs` has
 * passed, and returns the last comparison: a reader that is between two streams, or a join
 * still on its way, is given that long; a view that stays wrong fails.
 */
export async function settledPresence(
  nodes: readonly ChaosNode[],
  readers: readonly Reader[],
  probes: readonly string[],
  retryMs: number,
): Promise<PresenceViews & { attempts: number }> {
  const deadline = Date.now() + retryMs;
  for (let attempts = 1; ; attempts++) {
    const views = await presenceViews(nodes, readers, probes);
    const right = views.nodes.length === 0 && views.readers.length === 0;
    if (right || Date.now() >= deadline) return { ...views, attempts };
    await sleep(300);
  }
}

/** The presence checks once quiet: each node's view and each reader's view. */
export async function checkPresence(
  nodes: readonly ChaosNode[],
  readers: readonly Reader[],
  probes: readonly string[],
  retryMs: number,
): Promise<{ nodes: CheckResult; readers: CheckResult; hellos: boolean[] }> {
  const views = await settledPresence(nodes, readers, probes, retryMs);
  return {
    nodes: { name: "presence: each node's view is right once quiet", breaches: views.nodes },
    readers: { name: "presence: each reader's view is right once quiet", breaches: views.readers },
    hellos: views.hellos,
  };
}

/** The nodes check; see the file comment. */
export async function checkNodes(
  nodes: readonly ChaosNode[],
  exits: readonly UnexpectedExit[],
  findings: readonly string[],
  hellos: readonly boolean[],
  send: (node: ChaosNode) => SendRecord,
  cookie: string,
): Promise<CheckResult> {
  const breaches: string[] = [...findings];
  for (const e of exits) {
    breaches.push(
      `node ${e.node} died (code ${e.code}, signal ${e.signal}); its last lines:\n${indent(e.tail)}`,
    );
  }
  for (const [i, node] of nodes.entries()) {
    if (!node.alive) {
      breaches.push(`node ${node.name} is not running`);
      continue;
    }
    const ready = await probeStatus(node.url, '/readyz');
    if (ready !== 200) breaches.push(`node ${node.name}: /readyz answers ${ready || 'nothing'}`);
    const s = send(node);
    s.attempts++;
    const id = await postMessage(
      node.url,
      cookie,
      { to: s.to, text: s.text, clientId: s.clientId },
      10_000,
    );
    if (id === undefined) breaches.push(`node ${node.name}: a send got no 201 within 10 s`);
    else s.ackIds.add(id);
    if (!hellos[i]) breaches.push(`node ${node.name}: cannot open a stream`);
  }
  return { name: 'every node alive, ready and serving', breaches: cap(breaches) };
}

/** "missing a, b; extra c" or undefined when the sets are equal. */
function compare(got: Set<string>, want: Set<string>): string | undefined {
  const missing = [...want].filter((n) => !got.has(n)).sort();
  const extra = [...got].filter((n) => !want.has(n)).sort();
  if (missing.length === 0 && extra.length === 0) return undefined;
  return [
    missing.length ? `missing ${missing.join(', ')}` : '',
    extra.length ? `extra ${extra.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

const ids = (list: number[]): string =>
  list.length > 12 ? `${list.slice(0, 12).join(', ')}, …` : list.join(', ');

const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => `      ${l.slice(0, 300)}`)
    .join('\n');

/** At most 40 breaches per check, and how many more there were. */
function cap(list: string[]): string[] {
  return list.length > 40 ? [...list.slice(0, 40), `… and ${list.length - 40} more`] : list;
}
