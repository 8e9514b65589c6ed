// Which folder of src/ may import which: the layering DESIGN.md draws, checked rather than hoped
// for. Imports are read with TypeScript's own parser, so a comment, a line break or a template
// literal hides none of them. Runtime imports are read from the compiled JavaScript (what node
// actually loads: an import used only for types is gone there); type imports from the
// TypeScript source. Tests and contract suites are not production code and may import anything.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/test when compiled; the repository root is two levels up. */
const repo = resolve(here, '../..');

/**
 * A layer is a folder of src/, or one file at its root (named without `.ts`). `runtime` lists
 * what a layer's code may load when it runs; `types` what it may name in types as well (the
 * ports it is given); `packages` the npm packages it may load. Its own folder is always allowed.
 * `main` (with `notifications`, its notification half), `open-store`, `startup` and `cli` are
 * the composition roots: they choose the backends, so they may import anything and are not
 * listed.
 */
const LAYERS: Record<string, { runtime: string[]; types: string[]; packages?: string[] }> = {
  // The bottom: event types, ids, visibility, input and room rules, the error catalogue.
  domain: { runtime: [], types: [] },
  logger: { runtime: [], types: [], packages: ['pino'] },
  'config-options': { runtime: ['domain'], types: [] },
  'config-file': { runtime: ['config-options'], types: [] },
  config: { runtime: ['config-options', 'config-file', 'domain'], types: [] },
  'config-redact': { runtime: ['config-options'], types: ['config'] },
  // The chat service, the Hub and their helpers: no engine, no Bus, no HTTP, only the *types*
  // of the ports main.ts hands them.
  core: { runtime: ['domain', 'logger'], types: ['store', 'bus', 'presence', 'ops', 'config'] },
  // Engines know the domain and their own contract, nothing of the service that uses them.
  store: { runtime: ['domain', 'logger'], types: [], packages: ['better-sqlite3', 'pg'] },
  // Where uploaded bytes live: PostgresBlobStore connects as the Store's engine does.
  blobs: { runtime: ['store'], types: ['logger'], packages: ['pg'] },
  redis: { runtime: ['logger'], types: [], packages: ['ioredis'] },
  bus: { runtime: ['domain', 'logger', 'redis'], types: [], packages: ['ioredis'] },
  presence: { runtime: ['domain', 'logger', 'redis'], types: [], packages: ['ioredis'] },
  limits: { runtime: ['domain', 'logger', 'redis'], types: [], packages: ['ioredis'] },
  auth: { runtime: ['domain', 'logger'], types: ['store'] },
  // Requests out of the server (webhooks, Web Push): they name the Store's types (a push
  // subscription) but are handed the Store.
  outbound: { runtime: ['domain', 'logger'], types: ['store'], packages: ['web-push'] },
  ops: {
    runtime: ['domain', 'logger'],
    types: ['core', 'store', 'bus', 'presence', 'config'],
    packages: ['prom-client'],
  },
  // Uploaded bytes: sniffing their type and decoding images, bounded (pixels, time, queue).
  media: { runtime: ['domain'], types: [], packages: ['sharp', 'file-type'] },
  // Receiving, serving and collecting files: the media and the blob and upload stores' ports.
  uploads: { runtime: ['domain', 'media', 'store'], types: ['blobs', 'logger'] },
  // The edge: it may call the service and the auth helpers, and name the ports' types.
  http: {
    runtime: ['domain', 'logger', 'core', 'auth', 'ops', 'uploads'],
    types: ['store', 'limits', 'config', 'presence', 'bus', 'outbound', 'blobs'],
  },
};
const ROOTS = new Set(['main', 'notifications', 'files', 'open-store', 'startup', 'cli']);

/**
 * Node's modules a layer must never load (named without `node:` or a subpath): the domain
 * loads none at all, and the core and the engines know no network, no HTTP, no processes.
 */
const FORBIDDEN_BUILTINS: Record<string, RegExp> = {
  domain: /./,
  core: /^(http|https|http2|net|tls|dgram|dns|child_process|cluster|worker_threads|fs)$/,
  store: /^(http|https|http2|net|tls|dgram|child_process)$/,
  blobs: /^(http|https|http2|net|tls|dgram|child_process)$/,
};

/**
 * The only files that may call `require` (through `createRequire`): reading node's own
 * internals, which ES modules cannot import (http/sse/release-parser.ts says why).
 */
const MAY_REQUIRE = new Set(['http/sse/release-parser']);

/** One import of a file: what it names and whether only types come through it. */
interface Import {
  readonly spec: string;
  readonly typeOnly: boolean;
}

/** What one file imports, and the loads no checker could follow (computed or by require). */
interface Imports {
  readonly imports: Import[];
  /** `import(<not a literal>)`, `require(…)`, `createRequire(…)`, as written. */
  readonly opaque: string[];
}

/** The literal text of a module specifier, if it is one. */
function literal(node: ts.Node | undefined): string | undefined {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
    ? node.text
    : undefined;
}

/** Every import, re-export, dynamic import, import type and require in `source`. */
function importsOf(source: string, fileName: string): Imports {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const imports: Import[] = [];
  const opaque: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allInlineTypes =
        clause !== undefined &&
        clause.name === undefined &&
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      const spec = literal(node.moduleSpecifier) as string;
      imports.push({ spec, typeOnly: Boolean(clause?.isTypeOnly) || allInlineTypes });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const named = node.exportClause;
      const allInlineTypes =
        named !== undefined &&
        ts.isNamedExports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      const spec = literal(node.moduleSpecifier) as string;
      imports.push({ spec, typeOnly: node.isTypeOnly || allInlineTypes });
    } else if (ts.isImportEqualsDeclaration(node)) {
      opaque.push(node.getText(file));
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      const spec = ts.isLiteralTypeNode(arg) ? literal(arg.literal) : undefined;
      if (spec === undefined) opaque.push(node.getText(file));
      else imports.push({ spec, typeOnly: true });
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword) {
        const spec = literal(node.arguments[0]);
        if (spec === undefined) opaque.push(node.getText(file));
        else imports.push({ spec, typeOnly: false });
      } else if (
        ts.isIdentifier(callee) &&
        (callee.text === 'require' || callee.text === 'createRequire')
      ) {
        opaque.push(node.getText(file));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return { imports, opaque };
}

/** The layer a path under src/ belongs to. */
function layerOf(pathInSrc: string): string {
  const parts = pathInSrc.split('/');
  return parts.length > 1 ? (parts[0] as string) : (parts[0] as string).replace(/\.(ts|js)$/, '');
}

/** Every production file under `dir` with the given extension, relative to `dir`. */
function productionFiles(dir: string, ext: '.ts' | '.js'): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts'))
    .filter((f) => !/\.(test|contract)\.(ts|js)$/.test(f));
}

/** The npm package a bare specifier names (`@scope/name` or `name`, without a subpath). */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return (spec.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** The violations of the tables above among the files of one tree. */
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
    const { imports, opaque } = importsOf(readFileSync(join(srcDir, file), 'utf8'), file);
    if (!MAY_REQUIRE.has(file.replace(/\.(ts|js)$/, ''))) {
      for (const text of opaque) out.push(`${file} loads what no checker can follow: ${text}`);
    }
    for (const { spec, typeOnly } of imports) {
      if (kind === 'runtime' && typeOnly) continue;
      if (kind === 'types' && !typeOnly) continue;
      if (!spec.startsWith('.')) {
        if (kind === 'types') continue;
        if (isBuiltin(spec)) {
          const name = spec.replace(/^node:/, '').split('/')[0] as string;
          if (FORBIDDEN_BUILTINS[from]?.test(name)) out.push(`${file} loads ${spec}`);
        } else if (!(rule.packages ?? []).includes(packageOf(spec))) {
          out.push(`${file} loads the package ${spec}`);
        }
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
      if (!allowed.includes(to)) {
        out.push(`${file} ${kind === 'types' ? 'names types of' : 'loads'} ${to} (${spec})`);
      }
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

test('the checker sees every way of importing', () => {
  // Ways a file could load another module; each must be seen, or the tests above could pass
  // by reading nothing.
  const found = importsOf(
    [
      "/* a comment */ import { a } from '../store/sqlite/store.js';",
      "import type { B } from '../http/x.js';",
      "import {\n  type C,\n  type D,\n} from '../bus/bus.js';",
      "import http from 'http';",
      "export * from '../presence/presence.js';",
      "export type { E } from '../limits/limiter.js';",
      "const m = await import('../outbound/webhooks.js');",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the probe's own source holds a template literal.
      'const n = await import(`../http/${name}.js`);',
      "type T = import('../http/server.js').HttpDeps;",
      "const pg = createRequire(import.meta.url)('pg');",
      "const r = require('ioredis');",
    ].join('\n'),
    'probe.ts',
  );
  assert.deepEqual(found.imports, [
    { spec: '../store/sqlite/store.js', typeOnly: false },
    { spec: '../http/x.js', typeOnly: true },
    { spec: '../bus/bus.js', typeOnly: true },
    { spec: 'http', typeOnly: false },
    { spec: '../presence/presence.js', typeOnly: false },
    { spec: '../limits/limiter.js', typeOnly: true },
    { spec: '../outbound/webhooks.js', typeOnly: false },
    { spec: '../http/server.js', typeOnly: true },
  ]);
  assert.equal(found.opaque.length, 3, found.opaque.join('\n'));
  assert.ok(productionFiles(join(repo, 'dist/src'), '.js').length > 50);
  assert.ok(productionFiles(join(repo, 'src'), '.ts').length > 50);
});
