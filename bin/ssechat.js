#!/usr/bin/env node
// The `ssechat` command. The TypeScript is compiled to dist/ by `npm ci` (the prepare script).
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/src/cli/main.js'))
    throw err;
  process.stderr.write('ssechat: dist/ is missing; run `npm run build` (npm ci does it too)\n');
  process.exit(2);
}
await main(process.argv.slice(2), process.env);
