import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findWebDir, inlineCodePolicy, vendorAssets, webAssets } from './static.js';

const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

test('inlineCodePolicy allows exactly the page inline code, by hash', () => {
  const page =
    '<html><script>\r\nvar a = 1 < 2;\r\n</script><!-- <b onclick="x()"> -->\n' +
    "<form onsubmit=\"\n  f('<br>');\n  return false;\n\" style='display:none;'>" +
    '<input type=button value=x onclick=g()><p>a < b</p></form>';
  const csp = inlineCodePolicy(page);
  const script = [sha('\nvar a = 1 < 2;\n'), "'unsafe-hashes'"];
  script.push(sha("\n  f('<br>');\n  return false;\n"), sha('g()'));
  assert.equal(
    csp,
    `default-src 'none'; script-src ${script.join(' ')}; ` +
      `style-src 'unsafe-hashes' ${sha('display:none;')}; connect-src 'self'; ` +
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
  assert.match(inlineCodePolicy('<p>hi</p>'), /script-src 'none'; style-src 'none'/);
});

test('inlineCodePolicy refuses code it cannot hash', () => {
  assert.throws(() => inlineCodePolicy('<script src="/x.js"></script>'), /external script/);
  assert.throws(() => inlineCodePolicy('<a onclick="f(&quot;x&quot;)">'), /reference/);
});

test('webAssets lists the plain files of the folder with a known type, and nothing else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssechat-web-'));
  try {
    for (const name of ['b.js', 'a.css', 'icon.svg', 'index.html', 'tsconfig.json', '.hidden.js']) {
      writeFileSync(join(dir, name), '');
    }
    mkdirSync(join(dir, 'sub.js'));
    writeFileSync(join(dir, 'sub.js', 'c.js'), '');
    assert.deepEqual(webAssets(dir), ['a.css', 'b.js', 'icon.svg']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('every module and style the page refers to is a served asset', () => {
  const web = findWebDir();
  const assets = new Set([...webAssets(web), ...vendorAssets().keys()]);
  const wanted = new Set<string>();
  for (const name of assets) {
    if (!name.endsWith('.js') || !webAssets(web).includes(name)) continue;
    const code = readFileSync(join(web, name), 'utf8');
    for (const [, path] of code.matchAll(/^(?:import|export)\b[^'"]*from '\.\/([^']+)'/gm)) {
      wanted.add(path ?? '');
    }
  }
  const page = readFileSync(join(web, 'index.html'), 'utf8');
  for (const [, path] of page.matchAll(/"\/assets\/([^"]+)"/g)) wanted.add(path ?? '');
  assert.ok(wanted.has('app.js') && wanted.has('view.js'), 'the scan finds the references');
  for (const path of wanted) assert.ok(assets.has(path), `${path} is served`);
});

test('the libraries the page imports are self-contained ES modules, with types for web/', () => {
  const web = findWebDir();
  const vendor = vendorAssets();
  assert.deepEqual([...vendor.keys()].sort(), ['markdown-it.js', 'purify.js']);
  for (const [name, path] of vendor) {
    const code = readFileSync(path, 'utf8');
    // A browser would fetch any import relative to /assets/, where nothing answers.
    assert.doesNotMatch(
      code,
      /^\s*import\b|\bimport\s*\(|\bfrom\s*["']/m,
      `${name} imports nothing`,
    );
    assert.match(code, /^export \{ \w+ as default \};$/m, `${name} has a default export`);
    assert.ok(!webAssets(web).includes(name), `${name} is not also a file of web/`);
    const types = readFileSync(join(web, name.replace(/\.js$/, '.d.ts')), 'utf8');
    assert.match(types, /export \{ default \} from/);
  }
});

test('every id in the pages is used once (scripts find their elements by id)', () => {
  const dir = findWebDir();
  for (const page of ['index.html', 'admin.html']) {
    const html = readFileSync(join(dir, page), 'utf8');
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(twice, [], `${page}: ids used more than once`);
  }
});
