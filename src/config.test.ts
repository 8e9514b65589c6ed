import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  ConfigError,
  type ConfigResult,
  defaultText,
  helpText,
  loadConfig,
  OPTIONS,
} from './config.js';

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
