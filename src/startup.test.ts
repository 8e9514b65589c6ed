import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configWith } from './config.js';
import { listenError, StartupError, storeStartupError } from './startup.js';
import { NewerSchemaError } from './store/newer-schema.js';

const coded = (code: string, message: string): Error => Object.assign(new Error(message), { code });

/** The one line `err` becomes at startup with `config`, or a failure if it stays a bug. */
function line(err: unknown, overrides: Parameters<typeof configWith>[0]): string {
  const mapped = storeStartupError(err, configWith(overrides));
  assert.ok(mapped instanceof StartupError, `not mapped: ${String(mapped)}`);
  assert.doesNotMatch(mapped.message, /\n/);
  return mapped.message;
}

test('every failure of a step on the SQLite file names --data-dir and the file', () => {
  const sqlite = { store: 'sqlite', dataDir: '/srv/chat' } as const;
  assert.equal(
    line(coded('SQLITE_READONLY', 'attempt to write a readonly database'), sqlite),
    '--data-dir /srv/chat: database /srv/chat/ssechat.db cannot be written; attempt to write a readonly database',
  );
  assert.equal(
    line(
      coded('ELOOP', "ELOOP: too many symbolic links encountered, stat '/srv/chat/ssechat.db'"),
      sqlite,
    ),
    '--data-dir /srv/chat: database /srv/chat/ssechat.db cannot be opened: too many symbolic links',
  );
  assert.match(
    line(new NewerSchemaError('database /srv/chat/ssechat.db', 9, 6), sqlite),
    /^--data-dir \/srv\/chat: database \/srv\/chat\/ssechat\.db has schema version 9, newer than this ssechat supports \(6\); run that newer ssechat/,
  );
  // A bug stays a bug, printed with its stack.
  const bug = new TypeError('x is undefined');
  assert.equal(storeStartupError(bug, configWith(sqlite)), bug);
});

test('a --database-url that does not parse, or a database that cannot be used, hides the password', () => {
  const url = 'postgres://chat:dbsecret@[::1/chat';
  const invalid = Object.assign(new TypeError('Invalid URL'), {
    code: 'ERR_INVALID_URL',
    input: url,
  });
  const postgres = { store: 'postgres', databaseUrl: url } as const;
  assert.equal(line(invalid, postgres), '--database-url postgres://[redacted]: not a valid URL');
  const good = { store: 'postgres', databaseUrl: 'postgres://chat:dbsecret@db/chat' } as const;
  const readOnly = coded('25006', 'cannot execute UPDATE in a read-only transaction');
  assert.equal(
    line(readOnly, good),
    '--database-url postgres://chat:[redacted]@db/chat: cannot use the database: cannot execute UPDATE in a read-only transaction (25006)',
  );
});

test('listen refusing the address (EINVAL, an IPv6 zone naming no interface) names --host', () => {
  const config = configWith({ host: 'fe80::1%nope', port: 8000 });
  const mapped = listenError(
    coded('EINVAL', 'listen EINVAL: invalid argument fe80::1%nope'),
    config,
  );
  assert.ok(mapped instanceof StartupError);
  assert.match(
    mapped.message,
    /^--host fe80::1%nope: cannot listen on that address: invalid argument/,
  );
});
