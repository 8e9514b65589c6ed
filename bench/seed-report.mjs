// bench/seed-report.mjs RAW.txt -- turns bench/seed.sh's raw output into RAW.json and RAW.md
// (same name, other extension) and prints the markdown. Plain JS, no dependencies.
// Input: the "===== SUMMARY" tables the seed's bench.sh prints, one per server section
// ("################ <server>: <cmd> (pid P, port Q)" ... "################ end <server>").
import { readFileSync, writeFileSync } from 'node:fs';

const SCENARIOS = [
  'static c10',
  'msg c10',
  'static c100',
  'msg c100',
  'static c10 -k',
  'msg c10 -k',
  'wrk static c10',
];
const CHAT = new Set(['php', 'ssechat']); // the others serve the page to every URL: no /msg
const ORDER = ['php', 'c', 'node-http', 'node-net', 'ssechat'];

const rawPath = process.argv[2];
if (!rawPath) {
  console.error('usage: node bench/seed-report.mjs RESULTS/<date>-seed.txt');
  process.exit(2);
}
const lines = readFileSync(rawPath, 'utf8').split('\n');
const head = lines.filter((l) => l.startsWith('### ')).map((l) => l.slice(4));
const param = (k, dflt) =>
  (head.join(' ').match(new RegExp(`\\b${k}=(\\S+?)[)\\s]`)) || [])[1] ?? dflt;
const N = Number(param('N', 10000));

const servers = {};
let cur = null;
let inSummary = false;
for (const line of lines) {
  let m = line.match(/^################ (\S+): (.*) \(pid (\d+), port (\d+)\)$/);
  if (m) {
    cur = { cmd: m[2], pid: Number(m[3]), port: Number(m[4]), chat: CHAT.has(m[1]), scenarios: {} };
    servers[m[1]] = cur;
    inSummary = false;
    continue;
  }
  m = line.match(/^################ (\S+) FAILED: (.*)$/);
  if (m) {
    servers[m[1]] ??= { chat: CHAT.has(m[1]), scenarios: {} };
    servers[m[1]].error = m[2];
    continue;
  }
  if (line.startsWith('################ end ')) cur = null;
  if (!cur) continue;
  if (line.startsWith('===== SUMMARY')) inSummary = true;
  if (!inSummary) continue;
  m = line.match(/^peak RSS \(VmHWM\): (\d+) kB\s+current RSS \(VmRSS\): (\d+) kB/);
  if (m) {
    cur.peak_rss_kb = Number(m[1]);
    cur.current_rss_kb = Number(m[2]);
    continue;
  }
  // Scenario names contain spaces; take the longest known name the row starts with.
  const name = SCENARIOS.filter((s) => line.startsWith(`${s} `)).sort(
    (a, b) => b.length - a.length,
  )[0];
  if (!name) continue;
  m = line.slice(name.length).match(/^\s*(\S+) \(([^)]*)\)\s+(\S+)\s*(.*)$/);
  if (!m) continue;
  const notes = m[4].match(/r\d+:\S+/g) || [];
  const failedText = m[4].replace(/r\d+:\S+/g, '').trim();
  const s = {
    median_rps: Number(m[1]),
    runs: m[2].split(/\s+/).filter(Boolean).map(Number),
    server_us_per_req: m[3] === '-' ? null : Number(m[3]),
    // ab: "Failed requests" per run; wrk: "[socket errors]" per run
    failed: name.startsWith('wrk')
      ? failedText.match(/\[[^\]]*\]/g) || []
      : failedText
          .split(/\s+/)
          .filter(Boolean)
          .map((f) => (f === '?' ? null : Number(f))),
    notes: notes.join(' '),
  };
  if (name.startsWith('msg')) {
    s.delivered = notes.map((n) => Number((n.match(/delivered=(\d+)/) || [])[1] ?? 0));
    s.receiver_alive = notes.map((n) => n.includes('recv_alive=1'));
    s.all_delivered = s.delivered.length > 0 && s.delivered.every((d) => d === N);
  }
  cur.scenarios[name] = s;
}

const names = ORDER.filter((w) => servers[w]);
const rps = (w, sc) => servers[w]?.scenarios[sc]?.median_rps;
const ratio = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}x` : '—');
const fmt = (n, d = 0) =>
  n == null || Number.isNaN(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const ratios = [];
if (servers.ssechat && servers.php) ratios.push(['php', () => true]);
if (servers.ssechat && servers['node-http'])
  ratios.push(['node-http', (sc) => !sc.startsWith('msg')]);

const cell = (w, sc) => {
  if (servers[w].error && !servers[w].scenarios[sc]) return 'failed';
  const s = servers[w].scenarios[sc];
  if (!s) return '—';
  if (sc.startsWith('msg')) {
    if (!servers[w].chat) return '—';
    const short = Math.min(...s.delivered);
    return `${fmt(s.median_rps)} ${s.all_delivered ? '✓' : `✗ ${fmt(short)}/${fmt(N)}`}`;
  }
  return fmt(s.median_rps);
};
// Padded tables (first column left, the rest right-aligned): readable in a terminal as well.
function table(rows) {
  const w = rows[0].map((_, i) => Math.max(3, ...rows.map((r) => [...String(r[i])].length)));
  const pad = (c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]));
  const sep = w.map((n, i) => (i === 0 ? '-'.repeat(n) : `${'-'.repeat(n - 1)}:`));
  return [rows[0], sep, ...rows.slice(1)].map(
    (r, k) => `| ${r.map((c, i) => (k === 1 ? c : pad(c, i))).join(' | ')} |`,
  );
}

const md = [];
md.push(`### ${head[0] ?? 'ssechat seed benchmark'}`, '');
for (const h of head.slice(1)) md.push(`- ${h.replace(/ {2,}/g, ' ')}`);
md.push('');
md.push(
  ...table([
    ['scenario (req/s, median)', ...names, ...ratios.map(([b]) => `ssechat / ${b}`)],
    ...SCENARIOS.map((sc) => [
      sc,
      ...names.map((w) => cell(w, sc)),
      ...ratios.map(([b, applies]) => (applies(sc) ? ratio(rps('ssechat', sc), rps(b, sc)) : '')),
    ]),
  ]),
);
md.push('');
md.push(
  `Median of ${param('REPS', '?')} runs, N=${fmt(N)} requests per ab run, wrk ${param('WRKDUR', '?')}. ` +
    `msg rows: ✓ = the SSE receiver got all ${fmt(N)} messages in every run, ✗ = fewest delivered in a run. ` +
    'c, node-http and node-net answer every URL with the page, so msg rows do not apply to them ' +
    '(their figures are in the .json).',
);
md.push('');
md.push(
  ...table([
    ['server CPU µs/req (median)', ...names],
    ...SCENARIOS.map((sc) => [
      sc,
      ...names.map((w) =>
        sc.startsWith('msg') && !servers[w].chat
          ? '—'
          : fmt(servers[w].scenarios[sc]?.server_us_per_req, 1),
      ),
    ]),
    ['peak RSS (MiB)', ...names.map((w) => fmt(servers[w].peak_rss_kb / 1024, 1))],
  ]),
);

// The project's goals, stated as checks so a regression is visible at a glance.
const goals = [];
if (servers.ssechat && servers.php) {
  const s = servers.ssechat.scenarios['msg c10'];
  const r = rps('ssechat', 'msg c10') / rps('php', 'msg c10');
  goals.push(
    `msg c10, persistence on, ssechat / php >= 1.0x: ${ratio(rps('ssechat', 'msg c10'), rps('php', 'msg c10'))}` +
      ` ${r >= 1 && s?.all_delivered ? 'MET' : 'NOT MET'}${s && !s.all_delivered ? ' (not all delivered)' : ''}`,
  );
}
if (servers.ssechat && servers['node-http']) {
  const r = rps('ssechat', 'static c10') / rps('node-http', 'static c10');
  goals.push(
    `static c10, ssechat / node-http >= 1.0x: ${ratio(rps('ssechat', 'static c10'), rps('node-http', 'static c10'))}` +
      ` ${r >= 1 ? 'MET' : 'NOT MET'}`,
  );
}
const problems = [];
for (const w of names) {
  if (servers[w].error) problems.push(`${w}: ${servers[w].error}`);
  for (const [sc, s] of Object.entries(servers[w].scenarios)) {
    const bad = s.failed.filter((f) =>
      typeof f === 'number' ? f > 0 : f !== '[none]' && f !== null,
    );
    if (bad.length) problems.push(`${w} ${sc}: failed/errors per run ${s.failed.join(' ')}`);
  }
}
if (goals.length) md.push('', 'Goals:', '', ...goals.map((g) => `- ${g}`));
if (problems.length) md.push('', 'Failed requests / errors:', '', ...problems.map((p) => `- ${p}`));
const mdText = `${md.join('\n')}\n`;

// JSON with short scalar arrays on one line (as biome would lay it out), so per-run figures stay
// readable in diffs. `used` = columns already taken on the line.
function toJson(v, ind = '', used = 0) {
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) {
    const flat = `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
    if (used + flat.length + 1 <= 100) return flat;
  }
  if (v && typeof v === 'object') {
    const inner = `${ind}  `;
    const items = Array.isArray(v)
      ? v.map((x) => inner + toJson(x, inner, inner.length))
      : Object.entries(v)
          .filter(([, x]) => x !== undefined)
          .map(([k, x]) => {
            const key = `${inner}${JSON.stringify(k)}: `;
            return key + toJson(x, inner, key.length);
          });
    if (!items.length) return Array.isArray(v) ? '[]' : '{}';
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    return `${open}\n${items.join(',\n')}\n${ind}${close}`;
  }
  return JSON.stringify(v);
}
const json = {
  header: head,
  params: { N, REPS: Number(param('REPS', 0)), WRKDUR: param('WRKDUR', null) },
  servers: Object.fromEntries(names.map((w) => [w, servers[w]])),
  ratios: Object.fromEntries(
    ratios.map(([b, applies]) => [
      `ssechat/${b}`,
      Object.fromEntries(
        SCENARIOS.filter(applies).map((sc) => {
          const a = rps('ssechat', sc);
          const c = rps(b, sc);
          return [sc, a > 0 && c > 0 ? Number((a / c).toFixed(3)) : null];
        }),
      ),
    ]),
  ),
  goals,
  problems,
};
const base = rawPath.replace(/\.txt$/, '');
writeFileSync(`${base}.json`, `${toJson(json)}\n`);
writeFileSync(`${base}.md`, mdText);
process.stdout.write(`\n${mdText}\nwrote ${base}.json and ${base}.md\n`);
