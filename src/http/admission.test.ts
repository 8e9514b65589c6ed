import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressKey } from './admission.js';

test('addresses: IPv4 as is, IPv4-mapped unwrapped, IPv6 by its /64', () => {
  assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0DB8:0001:0002::9'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('2001:db8::'), '2001:db8:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('fe80::1:2:3:4'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('unknown'), 'unknown');
  // As proxies may write them: ports, brackets, upper case, the mapped form in full.
  assert.equal(addressKey('203.0.113.7:5678'), '203.0.113.7');
  assert.equal(addressKey('[2001:db8:1:2::9]:443'), '2001:db8:1:2::/64');
  assert.equal(addressKey('[2001:db8:1:2::9]'), '2001:db8:1:2::/64');
  assert.equal(addressKey('::FFFF:203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('0:0:0:0:0:ffff:203.0.113.8'), '203.0.113.8');
  assert.equal(addressKey('2001:DB8::1'), '2001:db8:0:0::/64');
});
