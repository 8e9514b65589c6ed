// bench/lib/load-child.mjs -- one client process of a load fleet (sse-load.mjs, classic-load.mjs):
// `script --child` started pinned to the load CPU and driven over IPC, each on its own
// 127.0.0.x source address.
import { LOAD_CPU, spawnTracked } from './process.mjs';

// Each child started gets the next source address, so fleets started one after another do not
// reuse each other's 4-tuples (still in TIME_WAIT).
let nextAddress = 0;

/**
 * Starts `script --child` and returns `{ proc, ask, address }`: `ask(msg, reply)` sends `msg`
 * and resolves with the child's next message whose `op` is `reply` (rejects if the child
 * exits first); `address` is the child's source address.
 */
export function startLoadChild(script) {
  const proc = spawnTracked(process.execPath, [script, '--child'], {
    cpu: LOAD_CPU,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map();
  proc.on('message', (m) => {
    const w = waiting.get(m.op);
    if (w) {
      waiting.delete(m.op);
      w.resolve(m);
    }
  });
  proc.on('exit', (code, sig) => {
    for (const w of waiting.values()) w.reject(new Error(`load child exited (${code ?? sig})`));
    waiting.clear();
  });
  const ask = (msg, reply) =>
    new Promise((resolve, reject) => {
      waiting.set(reply, { resolve, reject });
      proc.send(msg);
    });
  return { proc, ask, address: `127.0.0.${10 + (nextAddress++ % 240)}` };
}
