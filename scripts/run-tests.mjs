// `npm test`'s runner: every compiled test file under dist/, run by node's built-in runner.
// `node --test dist/` would do on Node 20, which searches a directory it is given; from Node 22
// on, the arguments are glob patterns and a directory matches no file (the run then fails on
// "Cannot find module dist"), while globs are not understood by Node 20. A list of files
// works on both. Extra arguments (e.g. --test-name-pattern) go to node before the files.
//
// `--unit` (npm run test:unit) runs only the unit tests beside their files (dist/src/) that need
// no service and no browser. Otherwise PostgreSQL and Redis are probed first, so that a machine
// without them gets one line saying so instead of a page of failed tests.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, normalize } from 'node:path';

/**
 * What a test may need, and how its code shows it: tests learn where PostgreSQL and Redis are
 * from these variables only (README, Tests), and reach Chromium through playwright-core.
 */
const NEEDS = {
  postgres: /\bSSECHAT_TEST_DATABASE_URL\b/,
  redis: /\bSSECHAT_TEST_REDIS_URL\b/,
  chromium: /['"]playwright-core['"]/,
};
/**
 * Where the tests look for each service when its variable is unset (as they do), and a greeting
 * only that service answers in kind: a TCP connection alone proves little where a proxy accepts
 * any. PostgreSQL answers an SSLRequest with one byte, S or N; Redis answers PING with a
 * status (+PONG) or an error (-NOAUTH), which is Redis too.
 */
const SERVICES = {
  postgres: {
    name: 'PostgreSQL',
    url: process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    port: 5432,
    hello: Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]),
    reply: (b) => b.length === 1 && (b[0] === 0x53 || b[0] === 0x4e),
  },
  redis: {
    name: 'Redis',
    url: process.env.SSECHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    port: 6379,
    hello: Buffer.from('PING\r\n'),
    reply: (b) => /^[+-]/.test(b.toString('latin1')),
  },
};
/** How long a service has to answer its greeting before it counts as missing. */
const PROBE_MS = 2000;

const argv = process.argv.slice(2);
const unit = argv.includes('--unit');
const nodeArgs = argv.filter((a) => a !== '--unit');

const root = 'dist';
const all = readdirSync(root, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => join(root, f))
  .sort();
if (all.length === 0) {
  console.error(`no test files under ${root}/: run npm run build first`);
  process.exit(1);
}

/**
 * The needs of a compiled file and of every local module it imports, transitively. A path that
 * is not there was no import (a test's string that looks like one, as in layers.test).
 */
function needsOf(file, seen = new Set()) {
  const found = new Set();
  if (seen.has(file) || !existsSync(file)) return found;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const [need, pattern] of Object.entries(NEEDS)) if (pattern.test(source)) found.add(need);
  for (const m of source.matchAll(/(?:\bfrom|\bimport\(?)\s*['"](\.{1,2}\/[^'"]+\.js)['"]/g)) {
    for (const need of needsOf(normalize(join(dirname(file), m[1])), seen)) found.add(need);
  }
  return found;
}

const needs = new Map(all.map((f) => [f, needsOf(f)]));
const files = unit
  ? all.filter((f) => f.startsWith(join(root, 'src')) && needs.get(f).size === 0)
  : all;

/** True when `service` answers its greeting at its URL's host and port within PROBE_MS. */
function answers({ url, port, hello, reply }) {
  const { hostname, port: p } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(p || port), hostname.replace(/^\[|\]$/g, ''));
    socket.setTimeout(PROBE_MS);
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => socket.write(hello));
    socket.once('data', (b) => done(reply(b)));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
    socket.once('end', () => done(false));
  });
}

if (!unit) {
  const wanted = Object.keys(SERVICES).filter((s) => files.some((f) => needs.get(f).has(s)));
  const missing = [];
  for (const s of wanted) {
    const service = SERVICES[s];
    if (!(await answers(service))) {
      const { hostname, port } = new URL(service.url);
      missing.push(`${service.name} (${hostname}:${port || service.port})`);
    }
  }
  if (missing.length > 0) {
    const them =
      missing.length > 1 ? 'are not answering: start them' : 'is not answering: start it';
    console.error(
      `npm test: ${missing.join(' and ')} ${them} with \`bash scripts/services.sh\`, ` +
        'or point SSECHAT_TEST_DATABASE_URL / SSECHAT_TEST_REDIS_URL at yours; ' +
        '`npm run test:unit` needs neither',
    );
    process.exit(1);
  }
}

const run = spawnSync(process.execPath, ['--enable-source-maps', '--test', ...nodeArgs, ...files], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
