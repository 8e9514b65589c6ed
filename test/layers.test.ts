// Which folder of src/ may import which: the layering DESIGN.md draws, checked rather than hoped
// for. Runtime imports are read from the compiled JavaScript (what node actually loads: an import
// used only for types is gone there); type imports from the TypeScript source. Tests and
// contract suites are not production code and may import anything.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/test when compiled; the repository root is two levels up. */
const repo = resolve(here, '../..');

/**
 * A layer is a folder of src/, or one file at its root (named without `.ts`). `runtime` lists
 * what a layer's code may load when it runs; `types` what it may name in types as well (the ports
 * it is given). Its own folder is always allowed. `main`, `open-store`, `startup` and `cli` are
 * the composition roots: they choose the backends, so they may import anything and are not
 * listed.
 */
const LAYERS: Record<string, { runtime: string[]; types: string[] }> = {
  // The bottom: event types, ids, visibility, input and room rules, the error catalogue.
  domain: { runtime: [], types: [] },
  logger: { runtime: [], types: [] },
  'config-options': { runtime: ['domain'], types: [] },
  'config-file': { runtime: ['config-options'], types: [] },
  config: { runtime: ['config-options', 'config-file', 'domain'], types: [] },
  'config-redact': { runtime: ['config-options'], types: ['config'] },
  // The chat service, the Hub and their helpers: no engine, no Bus, no HTTP, only the *types*
  // of the ports main.ts hands them.
  core: { runtime: ['domain', 'logger'], types: ['store', 'bus', 'presence', 'ops', 'config'] },
  // Engines know the domain and their own contract, nothing of the service that uses them.
  store: { runtime: ['domain', 'logger'], types: [] },
  redis: { runtime: ['logger'], types: [] },
  bus: { runtime: ['domain', 'logger', 'redis'], types: [] },
  presence: { runtime: ['domain', 'logger', 'redis'], types: [] },
  limits: { runtime: ['domain', 'logger', 'redis'], types: [] },
  auth: { runtime: ['domain', 'logger'], types: ['store'] },
  outbound: { runtime: ['domain', 'logger'], types: [] },
  ops: { runtime: ['domain', 'logger'], types: ['core', 'store', 'bus', 'presence', 'config'] },
  // The edge: it may call the service and the auth helpers, and name the ports' types.
  http: {
    runtime: ['domain', 'logger', 'core', 'auth', 'ops'],
    types: ['store', 'limits', 'config', 'presence', 'bus'],
  },
};
const ROOTS = new Set(['main', 'open-store', 'startup', 'cli']);

/** Node modules a layer must never load: the core and the domain know no network and no HTTP. */
const FORBIDDEN_BUILTINS: Record<string, RegExp> = {
  domain: /^node:/,
  core: /^node:(http|https|http2|net|tls|dgram|dns|child_process)$/,
  store: /^node:(http|https|http2)$/,
};

/** The layer a path under src/ belongs to. */
function layerOf(pathInSrc: string): string {
  const parts = pathInSrc.split('/');
  return parts.length > 1 ? (parts[0] as string) : (parts[0] as string).replace(/\.(ts|js)$/, '');
}

/** Every production file under `dir` with the given extension, relative to `dir`. */
function productionFiles(dir: string, ext: '.ts' | '.js'): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext) && !f.endsWith(`.d.ts`))
    .filter((f) => !/\.(test|contract)\.(ts|js)$/.test(f));
}

/** The module specifiers of `source`'s import and export-from statements, with their kind. */
function imports(source: string): Array<{ spec: string; typeOnly: boolean }> {
  const found: Array<{ spec: string; typeOnly: boolean }> = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(statement)) {
    const clause = m[3] ?? '';
    const names = clause
      .replace(/[{}]/g, '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const allInlineTypes = names.length > 0 && names.every((n) => n.startsWith('type '));
    found.push({ spec: m[4] as string, typeOnly: Boolean(m[2]) || allInlineTypes });
  }
  for (const m of source.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) {
    found.push({ spec: m[1] as string, typeOnly: false });
  }
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    found.push({ spec: m[1] as string, typeOnly: false });
  }
  return found;
}

/** The violations of LAYERS and FORBIDDEN_BUILTINS among the files of one tree. */
function violations(srcDir: string, ext: '.ts' | '.js', kind: 'runtime' | 'types'): string[] {
  const out: string[] = [];
  for (const file of productionFiles(srcDir, ext)) {
    const from = layerOf(file);
    if (ROOTS.has(from)) continue;
    const rule = LAYERS[from];
    if (rule === undefined) {
      out.push(`${file}: layer "${from}" is not in the table`);
      continue;
    }
    const source = readFileSync(join(srcDir, file), 'utf8');
    for (const { spec, typeOnly } of imports(source)) {
      if (kind === 'runtime' && typeOnly) continue;
      if (kind === 'types' && !typeOnly) continue;
      if (!spec.startsWith('.')) {
        const banned = FORBIDDEN_BUILTINS[from];
        if (kind === 'runtime' && banned?.test(spec)) out.push(`${file} loads ${spec}`);
        continue;
      }
      const target = relative(srcDir, resolve(dirname(join(srcDir, file)), spec));
      if (target.startsWith('..')) {
        out.push(`${file} imports ${spec}, outside src/`);
        continue;
      }
      const to = layerOf(target);
      if (to === from) continue;
      const allowed = kind === 'runtime' ? rule.runtime : [...rule.runtime, ...rule.types];
      if (!allowed.includes(to))
        out.push(`${file} ${kind === 'types' ? 'names types of' : 'loads'} ${to} (${spec})`);
    }
  }
  return out;
}

test('every runtime import follows the layering (read from the compiled code)', () => {
  assert.deepEqual(violations(join(repo, 'dist/src'), '.js', 'runtime'), []);
});

test('every type import follows the layering (read from the source)', () => {
  assert.deepEqual(violations(join(repo, 'src'), '.ts', 'types'), []);
});

test('the checker sees a violation when there is one', () => {
  // A core file that loaded an engine, and one that loaded node:http, must both be caught;
  // otherwise the two tests above could pass by reading nothing.
  const found = imports(
    "import { a } from '../store/sqlite/store.js';\nimport type { B } from '../http/x.js';\n" +
      "import {\n  type C,\n  type D,\n} from '../bus/bus.js';\nimport http from 'node:http';\n",
  );
  assert.deepEqual(found, [
    { spec: '../store/sqlite/store.js', typeOnly: false },
    { spec: '../http/x.js', typeOnly: true },
    { spec: '../bus/bus.js', typeOnly: true },
    { spec: 'node:http', typeOnly: false },
  ]);
  assert.ok(productionFiles(join(repo, 'dist/src'), '.js').length > 50);
  assert.ok(productionFiles(join(repo, 'src'), '.ts').length > 50);
});
