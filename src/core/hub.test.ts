import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatEvent, SharedEvent, StoredMessage } from '../domain/events.js';
import { Hub } from './hub.js';
import { RoomDirectory } from './rooms.js';
import type { Format, Subscriber } from './subscriber.js';

// A format that shows who sees what, and counts renders.
class Probe implements Format {
  renders = 0;
  render(event: ChatEvent, viewer: string): string {
    this.renders++;
    return event.kind === 'message'
      ? `${viewer}<-${event.message.text}`
      : `${viewer}<-${event.kind}`;
  }
}

function sub(id: string, nick: string, format: Format): Subscriber & { got: string[] } {
  const got: string[] = [];
  return { id, nick, format, got, send: (f) => got.push(f), heartbeat() {}, close() {} };
}

const message = (over: Partial<StoredMessage>): ChatEvent => ({
  kind: 'message',
  message: { id: 1, from: 'mary', to: 'all', text: 't', ts: 0, offline: false, ...over },
});

test('a broadcast reaches every stream, rendered once per format', () => {
  const hub = new Hub();
  const probe = new Probe();
  const subs = [sub('1', 'john', probe), sub('2', 'john', probe), sub('3', 'mary', probe)];
  for (const s of subs) hub.add(s);
  hub.deliver(message({ text: 'hi' }));
  assert.deepEqual(
    subs.map((s) => s.got),
    [['<-hi'], ['<-hi'], ['<-hi']],
  );
  assert.equal(probe.renders, 1);
});

test('a direct message reaches every tab of the recipient and of the sender', () => {
  const hub = new Hub();
  const probe = new Probe();
  const [j1, j2, m1, b1] = [
    sub('1', 'john', probe),
    sub('2', 'john', probe),
    sub('3', 'mary', probe),
    sub('4', 'bob', probe),
  ];
  for (const s of [j1, j2, m1, b1]) if (s) hub.add(s);
  hub.deliver(message({ to: 'john', text: 'dm' }));
  assert.deepEqual(j1?.got, ['john<-dm']);
  assert.deepEqual(j2?.got, ['john<-dm']);
  assert.deepEqual(m1?.got, ['mary<-dm']);
  assert.deepEqual(b1?.got, []);
});

test('a note to self reaches each tab once; an offline DM is offered to both sides', () => {
  const hub = new Hub();
  const probe = new Probe();
  const john = sub('1', 'john', probe);
  const mary = sub('2', 'mary', probe);
  hub.add(john);
  hub.add(mary);
  // The format decides whether the recipient sees an offline-flagged message (see deliver).
  hub.deliver(message({ to: 'john', text: 'late', offline: true }));
  hub.deliver(message({ from: 'mary', to: 'mary', text: 'self' }));
  assert.deepEqual(john.got, ['john<-late']);
  assert.deepEqual(mary.got, ['mary<-late', 'mary<-self']);
});

test('a join skips the stream that joined; removed streams get nothing', () => {
  const hub = new Hub();
  const probe = new Probe();
  const a = sub('a', 'john', probe);
  const b = sub('b', 'john', probe);
  const c = sub('c', 'mary', probe);
  for (const s of [a, b, c]) hub.add(s);
  hub.deliver({ kind: 'joined', nick: 'john', origin: 'b', first: false });
  hub.remove(c);
  hub.remove(c);
  hub.deliver({ kind: 'left', nick: 'mary' });
  // Rendered once per format, for no viewer in particular, and the frame reused (see Format).
  assert.deepEqual(a.got, ['<-joined', '<-left']);
  assert.deepEqual(b.got, ['<-left']);
  assert.deepEqual(c.got, ['<-joined']);
  assert.equal(hub.size, 2);
});

test('a read receipt reaches both parties and carries its id', () => {
  const hub = new Hub();
  const probe = new Probe();
  const ids: Array<number | undefined> = [];
  const john = sub('1', 'john', probe);
  const mary = { ...sub('2', 'mary', probe), send: (_f: string, id?: number) => ids.push(id) };
  const bob = sub('3', 'bob', probe);
  for (const s of [john, mary, bob]) hub.add(s);
  hub.deliver({ kind: 'read', receipt: { id: 9, from: 'john', to: 'mary', upTo: 4, ts: 0 } });
  assert.deepEqual(john.got, ['john<-read']);
  assert.deepEqual(ids, [9]);
  assert.deepEqual(bob.got, []);
});

test('an event no format shows visits no stream; two formats render once each', () => {
  const hub = new Hub();
  const silent: Format = { render: () => null };
  let visits = 0;
  const counting = (id: string, format: Format): Subscriber => ({
    id,
    nick: id,
    format,
    send: () => {
      visits++;
    },
    heartbeat() {},
    close() {},
  });
  for (let i = 0; i < 5; i++) hub.add(counting(`s${i}`, silent));
  hub.deliver({ kind: 'joined', nick: 'x', origin: 'o', first: false });
  assert.equal(visits, 0);
  const probe = new Probe();
  hub.add(counting('p1', probe));
  hub.add(counting('p2', probe));
  hub.deliver({ kind: 'left', nick: 'x' });
  assert.equal(visits, 2);
  assert.equal(probe.renders, 1);
});

test('a presence snapshot reaches every stream and resets the count of users online', () => {
  const hub = new Hub(undefined, undefined, 2);
  const counts: string[] = [];
  const probe: Format = {
    render: (event) => (event.kind === 'presence' ? `presence ${event.online.join()}` : null),
    crowd: (online, ended) => {
      counts.push(`${online}${ended ? ' ended' : ''}`);
      return `count ${online}`;
    },
  };
  const subs = [sub('1', 'john', probe), sub('2', 'mary', probe)];
  for (const s of subs) hub.add(s);
  hub.setOnline(7);
  hub.deliver({ kind: 'presence', online: ['john', 'mary'] });
  assert.deepEqual(
    subs.map((s) => s.got),
    [['presence john,mary'], ['presence john,mary']],
  );
  // The count restarts from the snapshot: one more is 3, a crowd (bound 2), told as a count.
  hub.deliver({ kind: 'joined', nick: 'ann', origin: 'x', first: true });
  hub.deliver({ kind: 'left', nick: 'ann' });
  assert.deepEqual(counts, ['2 ended']);
});

// A format that shows what a reader sees of a reply's original.
class Quotes implements Format {
  renders = 0;
  render(event: ChatEvent, viewer: string): string | null {
    if (event.kind !== 'message') return null;
    this.renders++;
    const reply = event.message.reply;
    return `${viewer}<-${reply && 'text' in reply ? reply.text : 'unavailable'}`;
  }
}

test("a reply's preview reaches only its readers; everyone else gets it unavailable", () => {
  const snapshot = {
    head: 10,
    members: [
      { room: '#r', user: 'ann', role: 'owner' as const, since: 1 },
      { room: '#r', user: 'bob', role: 'member' as const, since: 10 },
    ],
  };
  const hub = new Hub(undefined, new RoomDirectory(snapshot));
  const quotes = new Quotes();
  const [ann, bob, cat] = [
    sub('1', 'ann', quotes),
    sub('2', 'bob', quotes),
    sub('3', 'cat', quotes),
  ];
  for (const s of [ann, bob, cat]) hub.add(s);
  const preview = { id: 5, from: 'ann', text: 'secret', ts: 0 };
  const reply = (to: string, readers?: Extract<SharedEvent, { kind: 'message' }>['readers']) =>
    hub.deliver({
      kind: 'message',
      message: {
        id: 20,
        from: 'ann',
        to,
        text: 'r',
        ts: 0,
        offline: false,
        replyTo: 5,
        reply: preview,
      },
      ...(readers && { readers }),
    });
  // A room with history `joined`: bob joined after the original.
  reply('#r', { kind: 'members', upTo: 5 });
  assert.deepEqual([ann.got, bob.got, cat.got], [['<-secret'], ['<-unavailable'], []]);
  assert.equal(quotes.renders, 2, 'once per format and variant');
  // History `all`: every member.
  reply('#r', { kind: 'members', upTo: null });
  assert.deepEqual([ann.got.at(-1), bob.got.at(-1)], ['<-secret', '<-secret']);
  // A direct message whose recipient may not see the original (their registration point).
  reply('bob', { kind: 'nicks', nicks: ['ann'] });
  assert.deepEqual([ann.got.at(-1), bob.got.at(-1)], ['ann<-secret', 'bob<-unavailable']);
  // No readers named (a gap filled from the Store): nobody gets the text.
  reply('all');
  assert.deepEqual(
    [ann.got.at(-1), bob.got.at(-1), cat.got.at(-1)],
    Array(3).fill('<-unavailable'),
  );
  reply('all', { kind: 'everyone' });
  assert.deepEqual(cat.got.at(-1), '<-secret');
});
