// bench/lib/fanout-load.mjs -- the fan-out load of bench/fanout.mjs, for every scenario that
// measures it (fanout.mjs alone; uploads.mjs alone and beside uploads): broadcasts sent over
// keep-alive at a rate or in a burst to a fleet of SSE subscribers (sse-load.mjs), and what
// one such phase cost the server and how fast every subscriber had every broadcast.
import { Agent } from 'node:http';
import { api } from './http.mjs';
import { cpuBusyNs, cpuNs, writeSyscalls } from './measure.mjs';
import { sleep } from './process.mjs';
import { say } from './report.mjs';
import { marker, nowUs } from './sse-load.mjs';

/**
 * A JSON client of `port` on `maxSockets` keep-alive connections: `call(method, path, body,
 * cookie, headers)` resolves api()'s `{ status, headers, body }`.
 */
export function client(port, maxSockets) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const call = (method, path, body, cookie, headers) =>
    api(port, method, path, body, { cookie, agent, headers, timeoutMs: 120_000 });
  return { port, agent, call, close: () => agent.destroy() };
}

let phaseNo = 0;

/**
 * Sends `count` broadcasts numbered 1..count, `intervalMs` apart on an absolute schedule (0:
 * all at once, the agent queues them on its sockets). Returns { firstUs, failed }. A send that
 * fails on the network (a keep-alive socket the server closed as it was reused) is retried
 * once with the same clientId, which makes the retry idempotent in ssechat.
 */
async function broadcast(http, cookie, count, intervalMs, to) {
  const ph = ++phaseNo;
  const firstUs = nowUs();
  const t0 = performance.now();
  let failed = 0;
  let firstError;
  const pending = [];
  for (let seq = 1; seq <= count; seq++) {
    if (intervalMs > 0) {
      const wait = t0 + (seq - 1) * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const body = { to, text: marker(seq), clientId: `p${ph}-${seq}` };
    const send = () => http.call('POST', '/api/v1/messages', body, cookie);
    pending.push(
      send()
        .catch(send)
        .then(
          (r) => {
            if (r.status === 201) return;
            failed++;
            firstError ??= `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
          },
          (err) => {
            failed++;
            firstError ??= err.message;
          },
        ),
    );
  }
  await Promise.all(pending);
  if (firstError) say(`  ${failed} of ${count} sends failed, first: ${firstError}`);
  return { firstUs, failed };
}

/** One measured phase: arm the fleet, send, wait for every delivery, read the server's CPU. */
export async function phase(server, fleet, http, cookie, count, intervalMs, timeoutMs, to = 'all') {
  await fleet.arm(count);
  const cpu0 = cpuNs(server.pid);
  const busy0 = cpuBusyNs();
  const w0 = writeSyscalls(server.pid);
  const load0 = fleet.cpuNs();
  const sent = await broadcast(http, cookie, count, intervalMs, to);
  if (process.env.DEBUG)
    say(
      `  sent ${count} (${sent.failed} failed) in ${((nowUs() - sent.firstUs) / 1000).toFixed(0)} ms`,
    );
  const r = await fleet.wait(timeoutMs);
  if (process.env.DEBUG) say(`  got ${r.frames}, lost ${r.lost}, complete ${r.complete}`);
  const cpu = cpuNs(server.pid) - cpu0;
  const busy = cpuBusyNs() - busy0;
  const writes = writeSyscalls(server.pid) - w0;
  const loadCpu = fleet.cpuNs() - load0;
  const wallUs = Math.max(1, r.lastUs - sent.firstUs);
  return {
    sends: count,
    sendFailed: sent.failed,
    deliveries: r.frames,
    lost: r.lost,
    dups: r.dups,
    closed: r.closed,
    complete: r.complete,
    wallMs: wallUs / 1000,
    deliveriesPerSec: Math.round(r.frames / (wallUs / 1e6)),
    p50Ms: r.p50 / 1000,
    p99Ms: r.p99 / 1000,
    maxMs: r.maxLatUs / 1000,
    serverCpuMs: cpu / 1e6,
    cpuUsPerDelivery: r.frames ? cpu / 1000 / r.frames : NaN,
    // Write syscalls of the server (stream writes, plus one per POST answer): a frame costs a
    // loopback TCP send unless the server joins several frames into one write.
    writes,
    deliveriesPerWrite: writes ? r.frames / writes : NaN,
    cpuUsPerWrite: writes ? cpu / 1000 / writes : NaN,
    serverCpuPct: (100 * cpu) / 1000 / wallUs,
    loadCpuPct: (100 * loadCpu) / 1000 / wallUs,
    // Time CPU 0 spent on other processes (other benchmarks, tests): noise in this row.
    cpu0OtherPct: Math.max(0, (100 * (busy - cpu)) / 1000 / wallUs),
  };
}
