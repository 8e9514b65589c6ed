import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { inlineCodePolicy } from './static.js';

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
