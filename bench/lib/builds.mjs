// bench/lib/builds.mjs -- other builds of ssechat to measure beside this checkout: a commit
// exported with `git archive` into a temp dir (nothing is added to the repository: no
// worktree, no branch), given this checkout's node_modules and compiled once, kept for the
// next run (bench/compare.mjs runs its scenarios against one; bench/search.mjs writes its
// "before the index" database with one).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './process.mjs';
import { say } from './report.mjs';

/** Runs git in the repository; returns its trimmed stdout, throws on failure. */
export function git(...args) {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The full commit id of `rev` (a commit, tag or branch). */
export function commitOf(rev) {
  return git('rev-parse', '--verify', `${rev}^{commit}`);
}

/** Compiles `dir` with this checkout's tsc (into `dir`/dist). */
export function tscBuild(dir) {
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', '.bin', 'tsc'), '-p', dir], {
    cwd: dir,
    stdio: ['ignore', 2, 2],
  });
  if (tsc.status !== 0) throw new Error(`tsc failed in ${dir}`);
}

/**
 * The build of commit `sha` in a temp dir of its own (exported, linked to node_modules,
 * compiled), made on first use and kept: `/tmp/ssechat-compare-<sha:12>` (the name predates
 * this file; builds made by earlier runs are found there).
 */
export function exportBuild(sha) {
  const dir = join(tmpdir(), `ssechat-compare-${sha.slice(0, 12)}`);
  const stamp = join(dir, '.compare-built');
  if (existsSync(stamp)) return dir;
  mkdirSync(dir, { recursive: true });
  say(`builds: exporting ${sha.slice(0, 7)} to ${dir} and building it`);
  const tar = spawnSync('sh', ['-c', `git archive "${sha}" | tar -x -C "${dir}"`], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (tar.status !== 0) throw new Error(`git archive ${sha} failed`);
  if (!existsSync(join(dir, 'node_modules')))
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  tscBuild(dir);
  writeFileSync(stamp, `${sha}\n`);
  return dir;
}
