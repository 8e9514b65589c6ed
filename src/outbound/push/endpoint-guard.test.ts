import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatError } from '../../domain/errors.js';
import {
  EndpointGuard,
  isPublicAddress,
  MAX_ENDPOINT_LENGTH,
  type Resolver,
} from './endpoint-guard.js';

const refused = (err: unknown): boolean =>
  err instanceof ChatError && err.code === 'PUSH_ENDPOINT_INVALID';

/** A resolver that answers from a table, and fails for any other name. */
const table =
  (answers: Record<string, string[]>): Resolver =>
  async (hostname) => {
    const list = answers[hostname];
    if (!list) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);
  };

describe('isPublicAddress', () => {
  test('refuses every special-purpose range', () => {
    for (const address of [
      '0.0.0.0',
      '0.1.2.3',
      '10.0.0.1',
      '10.255.255.255',
      '100.64.0.1',
      '100.127.255.254',
      '127.0.0.1',
      '127.255.0.1',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.0.0.8',
      '192.0.2.1',
      '192.88.99.1',
      '192.168.1.1',
      '198.18.0.1',
      '198.19.255.255',
      '198.51.100.7',
      '203.0.113.9',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:8.8.8.8',
      '::127.0.0.1',
      '64:ff9b::a00:1',
      '64:ff9b::808:808',
      '100::1',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'febf::1',
      'ff02::1',
      '2001::1',
      '2001:db8::1',
      '2002:7f00:1::1',
      '3fff::1',
      'not an address',
      '',
    ]) {
      assert.equal(isPublicAddress(address), false, address);
    }
  });

  test('allows public unicast addresses', () => {
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '142.250.74.100',
      '100.63.255.255',
      '100.128.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '198.17.255.255',
      '198.20.0.0',
      '223.255.255.255',
      '2a00:1450:4001:80b::200a',
      '2606:4700::6810:84e5',
      '2001:4860:4860::8888',
    ]) {
      assert.equal(isPublicAddress(address), true, address);
    }
  });
});

describe('EndpointGuard', () => {
  const strict = new EndpointGuard({
    allowPrivate: false,
    resolve: table({
      'push.example.com': ['142.250.74.100', '2a00:1450:4001:80b::200a'],
      'localhost.example': ['127.0.0.1'],
      'mixed.example': ['142.250.74.100', '10.0.0.1'],
      'empty.example': [],
    }),
  });

  test('accepts https: to a name that resolves only to public addresses', async () => {
    const target = await strict.target('https://push.example.com/send/abc');
    assert.equal(target.address, '142.250.74.100');
    assert.equal(target.family, 4);
    assert.equal(target.url.hostname, 'push.example.com');
    assert.equal((await strict.target('https://8.8.8.8/x')).address, '8.8.8.8');
    assert.equal((await strict.target('https://[2606:4700::1]/x')).address, '2606:4700::1');
  });

  test('refuses hostile endpoints', async () => {
    for (const endpoint of [
      'http://push.example.com/send',
      'ftp://push.example.com/send',
      'javascript:alert(1)',
      'data:text/plain,hi',
      'file:///etc/passwd',
      'ws://push.example.com/',
      'https://127.0.0.1/',
      'https://127.1/',
      'https://2130706433/',
      'https://0x7f.0.0.1/',
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://[fe80::1]/',
      'https://10.0.0.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://192.168.0.1/',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://localhost.example/',
      'https://mixed.example/',
      'https://empty.example/',
      'https://nowhere.example/',
      'https://user:pass@push.example.com/',
      `https://push.example.com/${'a'.repeat(MAX_ENDPOINT_LENGTH)}`,
      'not a url',
      '',
      42,
      null,
      undefined,
      { href: 'https://push.example.com/' },
    ]) {
      await assert.rejects(strict.target(endpoint), refused, String(endpoint));
    }
  });

  test('the system resolver refuses a name that resolves to loopback', async () => {
    const guard = new EndpointGuard({ allowPrivate: false });
    await assert.rejects(guard.target('https://localhost/push'), refused);
  });

  test('each check asks DNS again: a name that turns private is refused', async () => {
    let answer = '142.250.74.100';
    const guard = new EndpointGuard({
      allowPrivate: false,
      resolve: async () => [{ address: answer, family: 4 }],
    });
    assert.equal((await guard.target('https://rebind.example/')).address, '142.250.74.100');
    answer = '127.0.0.1';
    await assert.rejects(guard.target('https://rebind.example/'), refused);
  });

  test('with private endpoints allowed, http: and private addresses pass, other schemes not', async () => {
    const open = new EndpointGuard({ allowPrivate: true, resolve: table({ box: ['10.1.2.3'] }) });
    assert.equal((await open.target('http://127.0.0.1:9/x')).address, '127.0.0.1');
    assert.equal((await open.target('https://[::1]/x')).address, '::1');
    assert.equal((await open.target('http://box/x')).address, '10.1.2.3');
    for (const endpoint of ['ftp://127.0.0.1/', 'javascript:void(0)', 'file:///x']) {
      await assert.rejects(open.target(endpoint), refused, endpoint);
    }
  });
});
