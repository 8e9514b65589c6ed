// `npm test`'s runner: every compiled test file under dist/, run by node's built-in runner.
// `node --test dist/` would do on Node 20, which searches a directory it is given; from Node 22
// on, the arguments are glob patterns and a directory matches no file (the run then fails on
// "Cannot find module dist"), while globs are not understood by Node 20. A list of files
// works on both. Extra arguments (e.g. --test-name-pattern) go to node before the files.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = 'dist';
const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => join(root, f))
  .sort();
if (files.length === 0) {
  console.error(`no test files under ${root}/: run npm run build first`);
  process.exit(1);
}
const run = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', ...process.argv.slice(2), ...files],
  { stdio: 'inherit' },
);
process.exit(run.status ?? 1);
