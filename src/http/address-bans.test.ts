import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import type { ChatError } from '../domain/errors.js';
import type { AddressBan } from '../domain/sanctions.js';
import { silentLogger } from '../logger.js';
import { AddressBans } from './address-bans.js';

const from = (remoteAddress: string, forwarded?: string) =>
  ({
    socket: { remoteAddress },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  }) as unknown as IncomingMessage;

const ban = (id: number, prefix: string, until = 0): AddressBan => ({
  id,
  prefix,
  since: 1,
  until,
  reason: 'flood',
  by: '(cli)',
});

test('a banned network is refused with until and reason; IPv6 by its /64', async () => {
  let list: AddressBan[] = [ban(1, '2001:db8:0:1::/64', 5_000), ban(2, '192.0.2.7/32')];
  let failing = false;
  const closed: Array<string | undefined> = [];
  let now = 1_000;
  const bans = new AddressBans({
    store: {
      addressBans: async () => {
        if (failing) throw new Error('down');
        return list;
      },
    },
    trustProxy: true,
    logger: silentLogger,
    now: () => now,
    closeStreams: (banned) => {
      for (const address of ['2001:db8:0:1::/64', '192.0.2.8/32', undefined]) {
        if (banned(address)) closed.push(address);
      }
    },
  });
  await bans.reload();
  assert.deepEqual(closed, ['2001:db8:0:1::/64']);
  const refused = (req: IncomingMessage) => {
    try {
      bans.check(req);
      return undefined;
    } catch (err) {
      const e = err as ChatError;
      return [e.code, e.details?.until, e.details?.reason];
    }
  };
  assert.deepEqual(refused(from('2001:db8:0:1:aaaa::1')), ['AUTH_ADDRESS_BANNED', 5_000, 'flood']);
  assert.deepEqual(refused(from('::ffff:192.0.2.7')), ['AUTH_ADDRESS_BANNED', null, 'flood']);
  assert.deepEqual(refused(from('10.0.0.1', '198.51.100.1, 192.0.2.7')), [
    'AUTH_ADDRESS_BANNED',
    null,
    'flood',
  ]);
  assert.equal(refused(from('2001:db8:0:2::1')), undefined);
  assert.equal(refused(from('192.0.2.8')), undefined);
  // Expired since the read: no longer refused.
  now = 5_000;
  assert.equal(refused(from('2001:db8:0:1::1')), undefined);
  // A failed read keeps the last copy; a new ban ends the streams of its network.
  failing = true;
  await bans.reload();
  assert.deepEqual(refused(from('192.0.2.7'))?.[0], 'AUTH_ADDRESS_BANNED');
  failing = false;
  list = [...list, ban(3, '192.0.2.8/32')];
  closed.length = 0;
  await bans.reload();
  assert.deepEqual(closed, ['192.0.2.8/32']);
  list = [];
  await bans.reload();
  assert.equal(refused(from('192.0.2.7')), undefined);
});
