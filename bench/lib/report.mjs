// bench/lib/report.mjs -- a scenario's arguments and what it says: flags parsed, progress on
// stderr, text tables, and the one JSON line on stdout that bench/run.mjs reads
// ({scenario, date, commit, rows, goals, ...}), stamped with the date and the commit.
import { spawnSync } from 'node:child_process';
import { ROOT } from './process.mjs';

/** Parses `--flag`, `--key value` and `--key=value` into an object. */
export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq !== -1) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--'))
      out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}

/** The short commit of `dir` (default the repository), with `-dirty` when its tree has changes. */
export function gitCommit(dir = ROOT) {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' });
  const dirty = spawnSync('git', ['diff', '--quiet', 'HEAD'], { cwd: dir }).status !== 0;
  return (r.stdout || '?').trim() + (dirty ? '-dirty' : '');
}

/** Today as YYYY-MM-DD (local time). */
export function today() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A plain text table of `rows` (arrays of cells) under `head`, numbers right-aligned. */
export function table(head, rows) {
  const all = [head, ...rows].map((r) => r.map((c) => String(c)));
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join(
    '\n',
  );
}

/** Progress to stderr, so that stdout keeps only the result line. */
export function say(...parts) {
  process.stderr.write(`${parts.join(' ')}\n`);
}

/**
 * Prints the scenario's one-line JSON result on stdout (what run.mjs and compare.mjs read):
 * `scenario`, `date` and `commit` first (filled in when absent), then the rest; `rows` and
 * `goals` must be arrays, so that every scenario has the same shape.
 */
export function printResult({ scenario, date = today(), commit = gitCommit(), ...rest }) {
  if (!Array.isArray(rest.rows) || !Array.isArray(rest.goals))
    throw new Error(`${scenario}: a result needs rows and goals arrays`);
  process.stdout.write(`${JSON.stringify({ scenario, date, commit, ...rest })}\n`);
}
