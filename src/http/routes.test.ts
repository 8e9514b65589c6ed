import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METHODS } from './router.js';
import { ROUTES } from './routes.js';

/** `METHOD /path` of every table row of docs/api.md, the query left out. */
function documented(): Array<{ method: string; path: string }> {
  const doc = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
  const rows: Array<{ method: string; path: string }> = [];
  for (const line of doc.split('\n')) {
    const m = /^\| `([A-Z]+) (\/[^`?]*)/.exec(line);
    if (m) rows.push({ method: m[1] as string, path: m[2] as string });
  }
  return rows;
}

/**
 * Whether a documented path (`<name>` for a part the client fills in) is the one `pattern`
 * describes: `:name` stands for one `<…>` segment, `*name` for the rest of the path.
 */
function describes(pattern: string, docPath: string): boolean {
  const source = pattern
    .split('/')
    .map((part) =>
      part.startsWith(':')
        ? '<[^/>]+>'
        : part.startsWith('*')
          ? '.*'
          : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}$`).test(docPath);
}

/** The methods a route declares, HEAD left out (it goes with GET where a route takes it). */
function methodsOf(route: (typeof ROUTES)[number]): string[] {
  return METHODS.filter((m) => m !== 'HEAD' && route.methods[m]);
}

test('docs/api.md documents every route of the table', () => {
  const rows = documented();
  for (const route of ROUTES) {
    for (const method of methodsOf(route)) {
      assert.ok(
        rows.some((row) => row.method === method && describes(route.path, row.path)),
        `docs/api.md has no row for ${method} ${route.path}`,
      );
    }
  }
});

test('every request docs/api.md documents is a route of the table', () => {
  const rows = documented();
  assert.ok(rows.length > 30, 'docs/api.md tables not found');
  for (const { method, path } of rows) {
    assert.ok(
      ROUTES.some((route) => methodsOf(route).includes(method) && describes(route.path, path)),
      `docs/api.md documents ${method} ${path}, which no route serves`,
    );
  }
});
