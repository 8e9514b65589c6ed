// bench/run.mjs [--quick] [--only seed,send,fanout,idle,classic-crowd,storm,uploads] -- `npm run bench`.
//
// Runs every scenario of issue 6 in one invocation, in this order: the seed's benchmark
// (bench/seed.sh), send, fanout, idle, classic-crowd, storm, uploads (text sends and fan-out beside file
// uploads, issue 20). A scenario script that does not exist yet is
// skipped with a note. Each scenario script prints one JSON line at the end
// ({scenario, date, commit, rows, goals}); bench/seed.sh writes bench/results/<date>-seed.json,
// from which the two seed goals are derived here. Writes:
//   bench/results/<date>.json   everything (every scenario's rows and goals)
//   bench/results/<date>.md     the table of every goal
//   bench/README.md             the same table, between the bench:goals markers
// --quick: N=2000 REPS=1 WRKDUR=2s for seed.sh (unless set in the environment) and --quick for
// every scenario script: a smoke run, not figures to publish. N, REPS, WRKDUR pass through.
// --no-php: where PHP is not installed, seed.sh runs every server but php and send gets
// --no-php (the two goals against PHP then have no baseline and are not met).
// Every scenario runs under its own time limit; ctrl-c or an error stops every child.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installCleanup, ROOT } from './lib/process.mjs';
import { gitCommit, parseArgs, say, today } from './lib/report.mjs';

const args = parseArgs(process.argv.slice(2));
const quick = Boolean(args.quick);
const noPhp = Boolean(args['no-php']);
const ORDER = ['seed', 'send', 'fanout', 'idle', 'classic-crowd', 'storm', 'uploads'];
const only = args.only ? String(args.only).split(',') : ORDER;
for (const s of only)
  if (!ORDER.includes(s)) throw new Error(`unknown scenario ${s} (${ORDER.join(', ')})`);
/** Longest one scenario may run (it also has its own limits), in minutes. */
const SCENARIO_LIMIT_MIN = Number(args['scenario-timeout'] ?? 60);
// RESULTS_DIR (also read by bench/seed.sh) and --readme PATH redirect the outputs, e.g. for a
// trial run that must not overwrite the day's published results.
const RESULTS = process.env.RESULTS_DIR ?? join(ROOT, 'bench', 'results');
const README = args.readme ? String(args.readme) : join(ROOT, 'bench', 'README.md');
const START = '<!-- bench:goals:start -->';
const END = '<!-- bench:goals:end -->';

// A global limit on top of the per-scenario ones.
installCleanup(Number(args.timeout ?? 5 * SCENARIO_LIMIT_MIN * 60) * 1000, 'bench/run');
// Scenario children get SIGTERM, never SIGKILL, when we stop: each then stops its own servers
// and load processes (bench/seed.sh in its EXIT trap, the .mjs scripts in their cleanup).
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});
const rel = (p) => (p.startsWith(`${ROOT}/`) ? p.slice(ROOT.length + 1) : p);

const env = { ...process.env };
if (quick) {
  env.N ??= '2000';
  env.REPS ??= '1';
  env.WRKDUR ??= '2s';
}
const date = today();
const commit = gitCommit();
const command = `${quick ? `N=${env.N} REPS=${env.REPS} WRKDUR=${env.WRKDUR} ` : ''}npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const started = new Date();
mkdirSync(RESULTS, { recursive: true });

/** Runs a child to the end (or its time limit); resolves { code, stdout }. stderr passes through. */
function runChild(cmd, argv, passStdout) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    running.add(child);
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (passStdout) process.stderr.write(d);
    });
    const limit = setTimeout(() => {
      say(`bench/run: ${argv.join(' ')} ran over ${SCENARIO_LIMIT_MIN} min, stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, SCENARIO_LIMIT_MIN * 60_000);
    child.on('error', (err) => {
      clearTimeout(limit);
      resolve({ code: -1, stdout: `${stdout}\n${err.message}` });
    });
    child.on('exit', (code, signal) => {
      running.delete(child);
      clearTimeout(limit);
      resolve({ code: code ?? signal, stdout });
    });
  });
}

/** The two goals of the seed's benchmark, from bench/seed.sh's JSON. */
function seedGoals(seed) {
  const sc = (server, name) => seed.servers?.[server]?.scenarios?.[name];
  const goals = [];
  const pair = (name, base, min, extraOk = true) => {
    const ours = sc('ssechat', name);
    const theirs = sc(base, name);
    const value = ours?.median_rps ?? Number.NaN;
    const baseline = theirs?.median_rps ?? Number.NaN;
    const ratio = value / baseline;
    goals.push({
      goal: `${name}${name.startsWith('msg') ? ' (persistence on)' : ''} ≥ ${min.toFixed(1)}× ${base}`,
      value,
      baseline,
      ratio: Number.isFinite(ratio) ? Math.round(ratio * 100) / 100 : null,
      met: Number.isFinite(ratio) && ratio >= min && extraOk,
      unit: 'req/s',
    });
  };
  pair('msg c10', 'php', 1.0, sc('ssechat', 'msg c10')?.all_delivered === true);
  pair('static c10', 'node-http', 1.0);
  return goals;
}

const scenarios = [];
const notes = [];
for (const name of ORDER) {
  if (!only.includes(name)) continue;
  say(`\n======== bench/run: ${name} ========`);
  if (name === 'seed') {
    const t0 = Date.now();
    const servers = noPhp ? ['c', 'node-http', 'node-net', 'ssechat'] : [];
    const r = await runChild('bash', [join(ROOT, 'bench', 'seed.sh'), ...servers], true);
    // seed.sh names its files by the date it started on.
    const file = join(RESULTS, `${date}-seed.json`);
    if (!existsSync(file) || statSync(file).mtimeMs < t0) {
      notes.push(`seed: bench/seed.sh wrote no ${date}-seed.json (exit ${r.code})`);
      scenarios.push({ scenario: 'seed', error: `exit ${r.code}`, goals: [] });
      continue;
    }
    const seed = JSON.parse(readFileSync(file, 'utf8'));
    if (r.code !== 0)
      notes.push(`seed: bench/seed.sh exited ${r.code} (a server failed; see ${date}-seed.txt)`);
    scenarios.push({
      scenario: 'seed',
      date,
      commit,
      source: `${rel(RESULTS)}/${date}-seed.json`,
      seed,
      goals: seedGoals(seed),
    });
    continue;
  }
  const script = join(ROOT, 'bench', `${name}.mjs`);
  if (!existsSync(script)) {
    say(`bench/run: bench/${name}.mjs does not exist yet: skipped`);
    notes.push(`${name}: skipped, bench/${name}.mjs does not exist yet`);
    scenarios.push({ scenario: name, skipped: true, goals: [] });
    continue;
  }
  const flags = [...(quick ? ['--quick'] : []), ...(noPhp && name === 'send' ? ['--no-php'] : [])];
  const r = await runChild(process.execPath, [script, ...flags], false);
  const line = r.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{') && l.includes('"scenario"'));
  let result;
  try {
    result = line ? JSON.parse(line) : undefined;
  } catch {}
  if (!result) {
    notes.push(`${name}: failed (exit ${r.code}), no result line`);
    scenarios.push({ scenario: name, error: `exit ${r.code}`, goals: [] });
    continue;
  }
  if (r.code !== 0) notes.push(`${name}: exited ${r.code} after printing its result`);
  scenarios.push(result);
}

// ---- the goals table ---------------------------------------------------------------------
const fmt = (v) => {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '—';
  if (typeof v !== 'number') return String(v);
  const d = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 });
};
const goals = scenarios.flatMap((s) =>
  (s.goals ?? []).map((g) => ({ scenario: s.scenario, ...g })),
);
const rows = goals.map((g) => [
  g.scenario,
  g.goal,
  `${fmt(g.value)}${g.unit ? ` ${g.unit}` : ''}`,
  `${fmt(g.baseline)}${g.unit && Number.isFinite(g.baseline) ? ` ${g.unit}` : ''}`,
  g.ratio === null || g.ratio === undefined ? '—' : `${fmt(g.ratio)}×`,
  g.met ? 'MET' : 'NOT MET',
]);
const head = ['scenario', 'goal', 'ssechat', 'baseline', 'ratio', 'met'];
const mdTable = [
  `| ${head.join(' | ')} |`,
  `| ${head.map((_, i) => (i >= 2 && i <= 4 ? '---:' : '---')).join(' | ')} |`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
const finished = new Date();
const summary = [
  `${date}, commit ${commit}, \`${command}\` (${Math.round((finished - started) / 60000)} min). ` +
    `Raw results: \`${rel(RESULTS)}/${date}.json\`${only.includes('seed') ? `, \`${rel(RESULTS)}/${date}-seed.{txt,json,md}\`` : ''}.`,
  '',
  mdTable,
  ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
  '',
  'For a "≤" goal (storm) the baseline column is the limit and met means at or under it. ' +
    'Ratios come from one run on a shared 2-core box: compare figures from the same run only.',
].join('\n');

writeFileSync(
  join(RESULTS, `${date}.json`),
  `${JSON.stringify({ date, commit, command, quick, started, finished, scenarios, goals, notes }, null, 2)}\n`,
);
writeFileSync(join(RESULTS, `${date}.md`), `# Benchmark goals, ${date}\n\n${summary}\n`);
const readme = readFileSync(README, 'utf8');
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a === -1 || b < a) {
  notes.push('bench/README.md has no bench:goals markers: not updated');
  say(`bench/run: no ${START} ... ${END} in bench/README.md; not updated`);
} else {
  writeFileSync(README, `${readme.slice(0, a + START.length)}\n${summary}\n${readme.slice(b)}`);
}
process.stdout.write(`\n${summary}\n`);
say(
  `\nbench/run: wrote ${rel(RESULTS)}/${date}.json, ${rel(RESULTS)}/${date}.md and ${rel(README)}`,
);
process.exit(0);
