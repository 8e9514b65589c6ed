// bench/compare.mjs --base REV [--only send,fanout,...] [--rounds 2] [--quick] [--fields all]
//                   [--no-build] [--scenario-timeout 60] [-- more flags for every scenario script]
//
// Two builds, one sitting: the build at REV (a commit, tag or branch) against this checkout,
// with the SAME measuring code (this checkout's bench/), alternating so that a slow spell of
// the shared box falls on both. REV is exported with `git archive` into a temp dir (nothing is
// added to the repository: no worktree, no branch), given this checkout's node_modules and
// built with tsc once (kept, keyed by commit, for the next comparison); this checkout is built
// too (a stale dist/ would be measured as "head"; --no-build skips that). Each scenario script then runs with SSECHAT_BIN pointing at one build or
// the other (every scenario starts ssechat through bench/lib/server.mjs, which honours it).
//
// Order: for each scenario, `rounds` rounds, base-head in odd rounds and head-base in even ones
// (ABBA). Scenarios: seed (bench/seed.sh ssechat: the ssechat column of the seed's bench.sh
// only), send (with --no-php: PHP's figure does not depend on the build), fanout, idle, classic-crowd, storm, cluster, flood, hold, soak, uploads; default the five of
// `npm run bench`. --quick passes --quick to the scripts that have it (seed: N=2000 REPS=1
// WRKDUR=2s), so a comparison is a smoke test; without it a scenario takes what its full run
// takes, times 2 × rounds (bench/README.md lists the durations).
//
// Prints, per scenario, the median over rounds of each goal's value and of each row's headline
// figures (throughput, latency, CPU per unit, memory, loss; --fields all: every number of a
// row), base and head side by side with head/base. Rows of the bare node:http baseline run the
// same code on both sides: their ratio shows the noise. Writes everything to
// RESULTS_DIR/<date>-compare-<base>.json (RESULTS_DIR defaults to /tmp/bench-compare, so the
// published results are never touched). Progress on stderr; the table on stdout.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitOf, exportBuild, tscBuild } from './lib/builds.mjs';
import { median, round } from './lib/measure.mjs';
import { ensureBuild, installCleanup, ROOT, tempDir } from './lib/process.mjs';
import { gitCommit, parseArgs, say, table, today } from './lib/report.mjs';

const dash = process.argv.indexOf('--');
const args = parseArgs(process.argv.slice(2, dash === -1 ? undefined : dash));
const extra = dash === -1 ? [] : process.argv.slice(dash + 1);
const SCENARIOS = [
  'seed',
  'send',
  'fanout',
  'idle',
  'classic-crowd',
  'storm',
  'cluster',
  'flood',
  'hold',
  'soak',
  'uploads',
];
/** Scripts that take --quick (the others run with their own flags, given after `--`). */
const HAS_QUICK = new Set([
  'send',
  'fanout',
  'idle',
  'classic-crowd',
  'storm',
  'cluster',
  'uploads',
]);
const only = String(args.only ?? 'seed,send,fanout,idle,storm').split(',');
for (const s of only)
  if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (${SCENARIOS.join(', ')})`);
if (!args.base || args.base === true) throw new Error('usage: node bench/compare.mjs --base REV');
const quick = Boolean(args.quick);
/** Rounds per scenario; each round runs both builds once. */
const ROUNDS = Number(args.rounds ?? 2);
/** Longest one scenario run may take, in minutes. */
const LIMIT_MIN = Number(args['scenario-timeout'] ?? 60);
const RESULTS = process.env.RESULTS_DIR ?? join(tmpdir(), 'bench-compare');
/** Row fields shown by default: the headline figures (see the file comment). */
const HEADLINE =
  /(per_?s$|rps$|PerSec$|_ms$|Ms$|_s$|^p\d+|us_per|UsPer|kbPerConn|KbPerConn|rss|lost|dup|caught)/i;

// Both builds' processes die with us; the global bound is every run at its limit.
installCleanup(only.length * ROUNDS * 2 * (LIMIT_MIN + 1) * 60_000 + 600_000, 'bench/compare');
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

const baseSha = commitOf(String(args.base));
const baseShort = baseSha.slice(0, 7);

/** Runs one scenario against the build at `bin`; resolves its result line (or an error). */
function runScenario(name, bin) {
  const env = { ...process.env, SSECHAT_BIN: bin };
  let cmd = process.execPath;
  let argv = [
    join(ROOT, 'bench', `${name}.mjs`),
    ...(quick && HAS_QUICK.has(name) ? ['--quick'] : []),
  ];
  let seedDir;
  if (name === 'seed') {
    seedDir = tempDir('ssechat-compare-seed-');
    env.RESULTS_DIR = seedDir;
    if (quick)
      Object.assign(env, { N: env.N ?? '2000', REPS: env.REPS ?? '1', WRKDUR: env.WRKDUR ?? '2s' });
    cmd = 'bash';
    argv = [join(ROOT, 'bench', 'seed.sh'), 'ssechat'];
  } else if (name === 'soak') {
    const dir = tempDir('ssechat-compare-soak-');
    writeFileSync(join(dir, 'README.md'), '');
    env.RESULTS_DIR = dir;
    argv.push('--readme', join(dir, 'README.md'));
  }
  if (name === 'send') argv.push('--no-php');
  // The peers (bench/lib/peers.mjs) do not depend on the build either; `-- --peers …` runs them.
  if (['send', 'fanout', 'idle'].includes(name)) argv.push('--peers', 'none');
  if (name !== 'seed') argv.push(...extra);
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    running.add(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const limit = setTimeout(() => child.kill('SIGTERM'), LIMIT_MIN * 60_000);
    child.on('exit', (code) => {
      running.delete(child);
      clearTimeout(limit);
      if (name === 'seed') {
        const file = join(seedDir, `${today()}-seed.json`);
        if (!existsSync(file)) return resolve({ error: `seed.sh exited ${code}, no JSON` });
        const seed = JSON.parse(readFileSync(file, 'utf8'));
        const sc = seed.servers?.ssechat?.scenarios ?? {};
        const rows = Object.entries(sc).map(([scenario, v]) => ({ scenario, ...v }));
        return resolve({ scenario: 'seed', rows, goals: [] });
      }
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{') && l.includes('"scenario"'));
      try {
        resolve(line ? JSON.parse(line) : { error: `exit ${code}, no result line` });
      } catch {
        resolve({ error: `exit ${code}, result line not JSON` });
      }
    });
  });
}

/** The figures of one result: each goal's value, and each row's headline numbers. */
function figures(result) {
  const out = {};
  for (const g of result.goals ?? [])
    if (Number.isFinite(g.value)) out[`goal: ${g.goal}`] = g.value;
  for (const row of result.rows ?? []) {
    const label = ['server', 'scenario', 'subscribers', 'connections', 'mode', 'key']
      .map((k) => row[k])
      .filter((v) => v !== undefined && v !== null)
      .join(' ');
    for (const [k, v] of Object.entries(row)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      if (args.fields !== 'all' && !HEADLINE.test(k)) continue;
      out[`${label}: ${k}`] = v;
    }
  }
  return out;
}

if (args['no-build']) await ensureBuild();
else {
  say(`compare: building this checkout (${ROOT})`);
  tscBuild(ROOT);
}
const base = exportBuild(baseSha);
const builds = {
  base: { bin: join(base, 'bin', 'ssechat.js'), commit: baseShort },
  head: { bin: join(ROOT, 'bin', 'ssechat.js'), commit: gitCommit() },
};
say(`compare: base ${baseShort} (${base}) against head ${builds.head.commit} (${ROOT})`);
const started = new Date();
const report = {};
const lines = [];
for (const name of only) {
  const runs = { base: [], head: [] };
  for (let r = 1; r <= ROUNDS; r++) {
    for (const side of r % 2 ? ['base', 'head'] : ['head', 'base']) {
      say(`\n==== compare: ${name}, round ${r}/${ROUNDS}, ${side} (${builds[side].commit})`);
      const result = await runScenario(name, builds[side].bin);
      if (result.error) say(`compare: ${name} on ${side}: ${result.error}`);
      runs[side].push(result);
    }
  }
  report[name] = runs;
  const figs = { base: runs.base.map(figures), head: runs.head.map(figures) };
  const keys = [...new Set([...figs.base, ...figs.head].flatMap((f) => Object.keys(f)))];
  for (const k of keys) {
    const b = median(figs.base.map((f) => f[k]));
    const h = median(figs.head.map((f) => f[k]));
    const ratio = Number.isFinite(b) && b !== 0 && Number.isFinite(h) ? h / b : NaN;
    lines.push([name, k, round(b, 2) ?? '-', round(h, 2) ?? '-', round(ratio, 3) ?? '-']);
  }
}

mkdirSync(RESULTS, { recursive: true });
const file = join(RESULTS, `${today()}-compare-${baseShort}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ base: builds.base, head: builds.head, quick, rounds: ROUNDS, started, finished: new Date(), report }, null, 2)}\n`,
);
process.stdout.write(
  `\nbase ${baseShort}, head ${builds.head.commit}, ${ROUNDS} round(s) alternated${quick ? ', --quick' : ''}; medians over rounds\n\n` +
    `${table(['scenario', 'figure', `base ${baseShort}`, `head ${builds.head.commit}`, 'head/base'], lines)}\n` +
    `\nhead/base > 1 is better for a rate, worse for a time, a cost or memory. Raw: ${file}\n`,
);
process.exit(0);
