import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatError } from './errors.js';
import { addressPrefix, inForce, parseAddress, parseMinutes } from './sanctions.js';

test('an IPv4 address is banned alone, as its /32, with a port or IPv4-mapped', () => {
  assert.equal(addressPrefix('192.0.2.7'), '192.0.2.7/32');
  assert.equal(addressPrefix(' 192.0.2.7:8080 '), '192.0.2.7/32');
  assert.equal(addressPrefix('::ffff:192.0.2.7'), '192.0.2.7/32');
  assert.equal(addressPrefix('0:0:0:0:0:ffff:192.0.2.7'), '192.0.2.7/32');
  assert.equal(addressPrefix('[::ffff:192.0.2.7]:443'), '192.0.2.7/32');
  assert.notEqual(addressPrefix('192.0.2.8'), addressPrefix('192.0.2.7'));
});

test('an IPv6 address stands for its /64, however it is written', () => {
  const prefix = '2001:db8:0:1::/64';
  for (const written of [
    '2001:db8:0:1::1',
    '2001:DB8:0:1:ffff:ffff:ffff:ffff',
    '2001:0db8:0000:0001:0000:0000:0000:0001',
    '[2001:db8:0:1::abcd]:443',
    '2001:db8::1:0:0:0:5',
    'fe80::1%eth0'.replace('fe80::1', '2001:db8:0:1::9'),
  ]) {
    assert.equal(addressPrefix(written), prefix, written);
  }
  // The next /64 is another subscriber.
  assert.equal(addressPrefix('2001:db8:0:2::1'), '2001:db8:0:2::/64');
  assert.equal(addressPrefix('::1'), '0:0:0:0::/64');
  assert.equal(addressPrefix('2001:db8::'), '2001:db8:0:0::/64');
  // An embedded IPv4 tail is in the interface half: only the network counts.
  assert.equal(addressPrefix('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
});

test('anything but an address is refused', () => {
  for (const bad of [
    '',
    'localhost',
    '300.1.1.1',
    '1.2.3',
    '2001:db8::1::2',
    '[::1',
    '1.2.3.4/24',
  ]) {
    assert.equal(addressPrefix(bad), undefined, bad);
  }
  assert.throws(
    () => parseAddress(42),
    (e: ChatError) => e.code === 'MOD_ADDRESS_INVALID',
  );
  assert.throws(
    () => parseAddress('x'.repeat(65)),
    (e: ChatError) => e.code === 'MOD_ADDRESS_INVALID',
  );
  assert.equal(parseAddress('192.0.2.1'), '192.0.2.1/32');
});

test('minutes: 1 to a year, whole; optional only where asked', () => {
  assert.equal(parseMinutes(1, false), 1);
  assert.equal(parseMinutes(525_600, false), 525_600);
  assert.equal(parseMinutes(undefined, true), undefined);
  assert.equal(parseMinutes(null, true), undefined);
  for (const bad of [0, -1, 1.5, 525_601, '5', undefined, Number.NaN]) {
    assert.throws(
      () => parseMinutes(bad, false),
      (e: ChatError) => e.code === 'MOD_DURATION_INVALID',
    );
  }
});

test('a sanction is in force until its end, or for good with 0', () => {
  assert.ok(inForce({ until: 0 }, 5));
  assert.ok(inForce({ until: 6 }, 5));
  assert.ok(!inForce({ until: 5 }, 5));
});
