#!/usr/bin/env node
// The `ssechat` command. The TypeScript is compiled to dist/ by `npm ci` (the prepare script).
import { main } from '../dist/src/main.js';

await main(process.argv.slice(2), process.env);
