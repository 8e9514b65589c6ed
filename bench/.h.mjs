import { readFileSync } from 'node:fs';
const require_io = (pid) => { const t = readFileSync(`/proc/${pid}/io`, 'utf8'); return { r: Number(/syscr:\s+(\d+)/.exec(t)[1]), w: Number(/syscw:\s+(\d+)/.exec(t)[1]) }; };
// temp harness (not committed)
import { Agent } from 'node:http';
import { freePort } from './lib/http.mjs';
import { installCleanup, pinSelf, tempDir, withBenchLock } from './lib/process.mjs';
import { measureSend, prepareSendLoad } from './lib/send-load.mjs';
import { startSsechat, startBaseline } from './lib/server.mjs';
installCleanup(600_000, 'h');
pinSelf();
const variants = process.argv.slice(2);
for (const v of variants) {
  const port = await freePort();
  const [kind, ...rest] = v.split(' ');
  const nodeFlags = rest.filter((f) => f.startsWith('--cpu-prof'));
  const extra = rest.filter((f) => !f.startsWith('--cpu-prof'));
  const server = kind === 'baseline' ? await startBaseline(port) : await startSsechat(port, extra, { nodeFlags, bin: kind === 'ssechat' ? undefined : kind });
  const agent = new Agent({ keepAlive: true });
  const load = await prepareSendLoad(port, tempDir('h-'), agent);
  await load.wrk(10, '2s');
  const io0 = require_io(server.pid);
  const rs = [];
  for (let i = 0; i < Number(process.env.REPS ?? 2); i++) rs.push(await measureSend(load, server, 10, process.env.DUR ?? '6s'));
  const io1 = require_io(server.pid); const msgs = rs.reduce((a, r) => a + r.requests, 0);
  console.log('syscr/msg', ((io1.r - io0.r) / msgs).toFixed(2), 'syscw/msg', ((io1.w - io0.w) / msgs).toFixed(2));
  console.log(v.padEnd(40), rs.map((r) => `${r.msgs_per_s} msg/s ${r.us_per_msg} µs/msg lost ${r.lost} other ${r.other_cpu0_pct}%`).join(' | '));
  load.rx.close?.();
  await server.stop();
}
process.exit(0);
