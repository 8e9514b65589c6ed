import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CONFIG_FILE,
  ConfigError,
  type ConfigResult,
  defaultText,
  helpText,
  loadConfig,
  OPTIONS,
} from './config.js';
import { REDACTED, redactedConfig, redactUrl } from './config-redact.js';

const config = (r: ConfigResult) => {
  assert.equal(r.help, false);
  if (r.help) throw new Error('unreachable');
  return r.config;
};

test('defaults: 127.0.0.1:8000, ./data, sqlite', () => {
  const c = config(loadConfig([], {}));
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8000);
  assert.equal(c.dataDir, './data');
  assert.equal(c.store, 'sqlite');
  assert.ok(Object.isFrozen(c));
});

test('flags beat environment variables, which beat defaults', () => {
  const env = { SSECHAT_PORT: '9000', SSECHAT_LOG_LEVEL: 'warn', SSECHAT_MAX_NICK_LENGTH: '20' };
  const c = config(loadConfig(['serve', '--port', '9100', '--max-nick-length=10'], env));
  assert.equal(c.port, 9100);
  assert.equal(c.maxNickLength, 10);
  assert.equal(c.logLevel, 'warn');
});

test('like the seed: a bare number is the port; PORT and HOST are read when ours are unset', () => {
  assert.equal(config(loadConfig(['18501'], {})).port, 18501);
  assert.equal(config(loadConfig(['serve', '18501', '--host', '::1'], {})).host, '::1');
  const c = config(loadConfig([], { PORT: '9001', HOST: '0.0.0.0' }));
  assert.equal(c.port, 9001);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(config(loadConfig([], { PORT: '9001', SSECHAT_PORT: '9002' })).port, 9002);
  assert.equal(config(loadConfig(['--port', '9003'], { PORT: '9001' })).port, 9003);
  assert.throws(() => loadConfig([], { PORT: 'x' }), /invalid PORT/);
  assert.throws(() => loadConfig(['1', '2'], {}), /unknown argument "2"/);
});

test('bad values and unknown flags fail with a message that names the setting', () => {
  assert.throws(() => loadConfig(['--port', 'abc'], {}), /invalid --port: "abc"/);
  assert.throws(() => loadConfig(['--port', '70000'], {}), ConfigError);
  assert.throws(() => loadConfig([], { SSECHAT_PORT: '-1' }), /invalid SSECHAT_PORT/);
  assert.throws(() => loadConfig(['--store', 'mongo'], {}), /sqlite, postgres, memory/);
  assert.throws(() => loadConfig(['--heartbeat-ms', '60000'], {}), /1000 to 30000/);
  assert.throws(() => loadConfig(['--nope'], {}), /unknown argument "--nope"/);
  assert.throws(() => loadConfig(['--port'], {}), /--port needs a value/);
  assert.throws(() => loadConfig(['--data-dir='], {}), /must not be empty/);
});

test('settings that cannot work together are refused with the reason', () => {
  assert.throws(() => loadConfig(['--bus', 'redis'], {}), /--bus redis needs --store postgres/);
  assert.throws(
    () => loadConfig(['--bus', 'redis', '--store', 'memory'], {}),
    /every process would keep its own messages/,
  );
  assert.equal(config(loadConfig(['--bus', 'redis', '--store', 'postgres'], {})).bus, 'redis');
  assert.throws(
    () => loadConfig(['--webhook-url', 'https://app.example/hook'], {}),
    /--webhook-secret of at least 16/,
  );
  assert.throws(
    () => loadConfig(['--webhook-url', 'ftp://x', '--webhook-secret', 'x'.repeat(16)], {}),
    /not an http\(s\) URL/,
  );
});

test('--help asks for help', () => {
  assert.deepEqual(loadConfig(['--help'], {}), { help: true });
  for (const o of Object.values(OPTIONS)) assert.ok(helpText().includes(o.flag));
});

test('README.md documents every option with its flag, env var and default', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const configRow = readme.split('\n').find((line) => line.startsWith(`| \`${CONFIG_FILE.flag}\``));
  assert.ok(configRow?.includes(`\`${CONFIG_FILE.env}\``), 'README.md has no row for --config');
  for (const o of Object.values(OPTIONS)) {
    const row = readme.split('\n').find((line) => line.includes(`\`${o.flag}\``));
    assert.ok(row, `README.md has no row for ${o.flag}`);
    assert.ok(row.includes(`\`${o.env}\``), `README row for ${o.flag} lacks ${o.env}`);
    const def = defaultText(o.default);
    assert.ok(
      row.includes(def === '(none)' ? def : `\`${def}\``),
      `README row for ${o.flag} lacks its default`,
    );
  }
});

test('rate limits are RATE,BURST or 0 for none', () => {
  const c = config(loadConfig(['--send-limit-user', '2.5,10', '--connect-limit-ip', '0'], {}));
  assert.deepEqual(c.sendLimitUser, { rate: 2.5, burst: 10 });
  assert.equal(c.connectLimitIp, null);
  assert.deepEqual(config(loadConfig([], {})).sendLimitIp, { rate: 500, burst: 5000 });
  assert.throws(() => loadConfig(['--send-limit-ip', '10'], {}), /invalid --send-limit-ip/);
  assert.throws(() => loadConfig(['--send-limit-ip', '0,10'], {}), /RATE,BURST/);
  assert.throws(() => loadConfig(['--send-limit-ip', '10,0'], {}), /RATE,BURST/);
  assert.throws(() => loadConfig([], { SSECHAT_CONNECT_LIMIT_USER: '-1,5' }), /CONNECT_LIMIT_USER/);
});

/** Writes `content` to a fresh temp file, runs `fn` with its path, then removes it. */
function withFile<T>(content: string, fn: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ssechat-config-'));
  try {
    const path = join(dir, 'ssechat.json');
    writeFileSync(path, content);
    return fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a config file: flag beats env var beats file beats default; numbers or strings', () => {
  const json = JSON.stringify({
    port: 8001,
    'max-queue-bytes': '65536',
    'send-limit-user': '5,10',
    'connect-limit-ip': 0,
    'log-level': 'warn',
    host: '0.0.0.0',
  });
  withFile(json, (path) => {
    const c = config(loadConfig(['--config', path, '--log-level', 'debug'], { HOST: '::1' }));
    assert.equal(c.port, 8001);
    assert.equal(c.maxQueueBytes, 65536);
    assert.deepEqual(c.sendLimitUser, { rate: 5, burst: 10 });
    assert.equal(c.connectLimitIp, null);
    assert.equal(c.logLevel, 'debug');
    // HOST counts as an environment variable, and those beat the file.
    assert.equal(c.host, '::1');
    assert.equal(c.heartbeatMs, 15_000);
    assert.equal(config(loadConfig([], { SSECHAT_CONFIG: path })).port, 8001);
    assert.equal(config(loadConfig(['9000', `--config=${path}`], {})).port, 9000);
    assert.equal(config(loadConfig([], { SSECHAT_CONFIG: path, PORT: '8100' })).port, 8100);
  });
});

test('a bad config file fails with a message naming the file and the key', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"max-queue-bytes": 1}', /invalid "max-queue-bytes" in config file .*ssechat\.json: "1"/],
    ['{"send-limit-user": "fast"}', /invalid "send-limit-user" in config file .*RATE,BURST/],
    ['{"--port": 8001}', /unknown key "--port" in config file/],
    ['{"config": "other.json"}', /unknown key "config" in config file/],
    ['{"port": null}', /invalid "port" in config file .*: must be a number or a string/],
    ['{"port": 80', /config file .*ssechat\.json is not valid JSON/],
    ['"port"', /must hold one JSON object/],
  ];
  for (const [content, message] of cases) {
    withFile(content, (path) => {
      assert.throws(() => loadConfig(['--config', path], {}), message);
      assert.throws(() => loadConfig([], { SSECHAT_CONFIG: path }), ConfigError);
    });
  }
  assert.throws(() => loadConfig(['--config', '/nonexistent/x.json'], {}), /cannot read config/);
  assert.throws(() => loadConfig(['--config='], {}), /--config must not be empty/);
  // A flag that fixes the bad value does not excuse the file: it is read whole.
  withFile('{"port": "x"}', (path) => {
    assert.throws(() => loadConfig(['--config', path, '--port', '1'], {}), /"port" in config/);
  });
});

test('redactedConfig hides secrets and URL passwords, and reads back as a config file', () => {
  const c = config(
    loadConfig(
      [
        '--metrics-token',
        'tok',
        '--database-url',
        'postgres://u:p%40ss@db/chat',
        '--cors-origins',
        'https://a.example',
      ],
      {},
    ),
  );
  const shown = redactedConfig(c);
  assert.equal(shown['metrics-token'], REDACTED);
  assert.equal(shown['webhook-secret'], 'none');
  assert.equal(shown['database-url'], `postgres://u:${REDACTED}@db/chat`);
  assert.equal(shown['redis-url'], 'redis://127.0.0.1:6379');
  assert.equal(redactUrl('not a url, pw'), REDACTED);
  assert.equal(redactUrl('postgres://u:p@ss:w@rd@host/db').includes('ss:w'), false);
  const { 'metrics-token': _, 'database-url': __, ...rest } = shown;
  withFile(JSON.stringify(rest), (path) => {
    assert.deepEqual(config(loadConfig(['--config', path], {})).corsOrigins, ['https://a.example']);
  });
});
