// bench/lib/peers.mjs -- the peer servers that send, fanout and idle measure ssechat beside, in
// the same run (issue 24): better-sse and Socket.IO from npm (bench/peers/package.json, exact
// versions, installed with `npm ci --prefix bench/peers` when missing) and Nchan (Debian's
// nginx + libnginx-mod-nchan, skipped with a note when not installed). Each runs pinned to
// SERVER_CPU as one process, and answers the JSON API's shapes (bench/peers/api.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { NGINX, nchanConf, nchanMissing } from '../peers/nchan.mjs';
import { ROOT, removeTempDir, tempDir } from './process.mjs';
import { say } from './report.mjs';
import { startServer } from './server.mjs';

export const PEERS_DIR = join(ROOT, 'bench', 'peers');
/** Every peer, in the order they run. */
export const PEERS = ['better-sse', 'socketio', 'nchan'];

/**
 * How a fleet reaches a server's subscribers (SseFleet.connect): `sse` streams wait for their
 * `hello` frame (better-sse writes `event:hello`); Nchan sends `: hi` instead; Socket.IO clients are socket.io-client sockets.
 */
export function subscriberMode(name) {
  if (name === 'socketio') return { mode: 'socketio' };
  if (name === 'nchan') return { mode: 'sse', hello: ': hi' };
  if (name === 'better-sse') return { mode: 'sse', hello: 'event:hello' }; // no space after ':'
  return { mode: 'sse' };
}

/** Installs the npm peers from the committed lock if bench/peers/node_modules is missing. */
function ensurePeerModules() {
  if (existsSync(join(PEERS_DIR, 'node_modules', '.package-lock.json'))) return null;
  say('peers: npm ci --prefix bench/peers');
  const r = spawnSync('npm', ['ci', '--prefix', PEERS_DIR, '--no-audit', '--no-fund'], {
    stdio: ['ignore', 2, 2],
  });
  return r.status === 0 ? null : `npm ci --prefix bench/peers failed (exit ${r.status})`;
}

/**
 * The peers named by `--peers` (default all; `--peers none` or `--no-peers`: none) that can run
 * here; those that cannot are left out with a note on stderr, and listed in `skipped`.
 */
export function selectPeers(args) {
  const asked = args['no-peers']
    ? []
    : String(args.peers ?? PEERS.join(','))
        .split(',')
        .filter((p) => p && p !== 'none');
  const unknown = asked.filter((p) => !PEERS.includes(p));
  if (unknown.length)
    throw new Error(`--peers: unknown ${unknown.join(', ')} (${PEERS.join(', ')})`);
  const skipped = [];
  const npmMissing = asked.some((p) => p !== 'nchan') ? ensurePeerModules() : null;
  const peers = asked.filter((p) => {
    const why = p === 'nchan' ? nchanMissing() : npmMissing;
    if (why) {
      say(`peers: ${p} skipped: ${why}`);
      skipped.push({ peer: p, why });
    }
    return !why;
  });
  return { peers, skipped };
}

/** Starts peer `name` on `port`: startServer's `{ name, pid, proc, port, stop, log }`. */
export async function startPeer(name, port) {
  if (name === 'nchan') {
    const dir = tempDir('ssechat-bench-nchan-');
    const s = await startServer('nchan', NGINX, nchanConf(dir, port), port);
    const stop = s.stop;
    s.stop = async () => {
      await stop();
      removeTempDir(dir);
    };
    return s;
  }
  const file = join(PEERS_DIR, `${name}.mjs`);
  return startServer(name, process.execPath, [file, String(port)], port, { cwd: PEERS_DIR });
}

/** socket.io-client from bench/peers (for a receiver or a fleet child). */
export function socketIoClient() {
  return createRequire(join(PEERS_DIR, 'package.json'))('socket.io-client');
}
