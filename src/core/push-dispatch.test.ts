import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LoggedEvent, StoredMessage } from '../domain/events.js';
import type { PushCandidate } from '../store/notify-store.js';
import type { PushSubscriptionRecord } from '../store/push-store.js';
import { PushDispatch, type PushPayload, type PushUrgency } from './push-dispatch.js';

interface Sent {
  readonly endpoint: string;
  readonly payload: PushPayload;
  readonly urgency: PushUrgency;
}

/** A dispatcher over fake ports: `work` is what the cursor hands out once. */
function harness(opts: {
  work: LoggedEvent[];
  audience: Record<number, PushCandidate[]>;
  connected?: string[];
  attentive?: string[];
  hide?: string[];
  mentionsNotify?: boolean;
  /** Whether anyone has a push subscription (default true). */
  subscribed?: boolean;
}) {
  const sent: Sent[] = [];
  const calls = { claimed: 0, skipped: 0 };
  let work = opts.work;
  const sub = (nick: string): PushSubscriptionRecord => ({
    endpoint: `https://push.example/${nick}`,
    p256dh: 'k',
    auth: 'a',
    nick,
    session: 's',
    created: 0,
  });
  const dispatch = new PushDispatch({
    notify: {
      claimPushWork: async () => {
        calls.claimed++;
        const out = work;
        work = [];
        return out;
      },
      skipPushWork: async () => {
        calls.skipped++;
        work = [];
      },
      pushAudience: async (id) => opts.audience[id] ?? [],
      attentive: async (nicks) => new Set(nicks.filter((n) => opts.attentive?.includes(n))),
      unreadTotal: async () => 2,
    },
    push: {
      subscriptions: async (nicks) => nicks.map(sub),
      hideText: async (nick) => opts.hide?.includes(nick) ?? false,
      anySubscriptions: async () => opts.subscribed ?? true,
    },
    isConnected: async (nick) => opts.connected?.includes(nick) ?? false,
    sender: {
      send: (s, payload, o) => sent.push({ endpoint: s.endpoint, payload, urgency: o.urgency }),
    },
    mentionsNotify: opts.mentionsNotify ?? true,
  });
  return { sent, dispatch, calls };
}

const message = (id: number, from: string, to: string, text: string): LoggedEvent => ({
  kind: 'message',
  message: { id, from, to, text, ts: 1, offline: false } satisfies StoredMessage,
});

async function run(h: ReturnType<typeof harness>): Promise<Sent[]> {
  h.dispatch.poke();
  // The poke's delay (POKE_MS), then the fakes' promises and the drain loop.
  await new Promise((r) => setTimeout(r, 150));
  h.dispatch.close();
  return h.sent;
}

test('levels decide: a DM at the default, a room only with a mention, nothing when muted', async () => {
  const sent = await run(
    harness({
      work: [
        message(1, 'ann', 'bob', 'hi bob'),
        message(2, 'ann', '#dev', 'hi @cat'),
        message(3, 'ann', '#dev', 'plain'),
      ],
      audience: {
        1: [{ nick: 'bob', level: null, mentioned: false }],
        2: [
          { nick: 'cat', level: null, mentioned: true },
          { nick: 'dan', level: null, mentioned: false },
          { nick: 'eve', level: 'none', mentioned: true },
        ],
        3: [{ nick: 'fay', level: 'all', mentioned: false }],
      },
    }),
  );
  assert.deepEqual(
    sent.map((s) => [s.endpoint.split('/').at(-1), s.payload.with, s.payload.title, s.urgency]),
    [
      ['bob', 'ann', 'ann', 'high'],
      ['cat', '#dev', 'ann in #dev', 'high'],
      ['fay', '#dev', 'ann in #dev', 'normal'],
    ],
  );
  assert.equal(sent[0]?.payload.tag, 'ssechat:ann');
  assert.equal(sent[0]?.payload.url, '/#ann');
  assert.equal(sent[0]?.payload.unread, 2);
});

test('only users who are away: present and looking means no push', async () => {
  const sent = await run(
    harness({
      work: [message(1, 'ann', 'all', '@bob @cat @dan')],
      audience: {
        1: ['bob', 'cat', 'dan'].map((nick) => ({ nick, level: null, mentioned: true })),
      },
      // bob: connected and looking (present); cat: connected, hidden past the grace; dan: no stream.
      connected: ['bob', 'cat'],
      attentive: ['bob', 'dan'],
    }),
  );
  assert.deepEqual(
    sent.map((s) => s.endpoint.split('/').at(-1)),
    ['cat', 'dan'],
  );
});

test('open mode: mentions never notify; hideText hides sender and text; edits only for new mentions', async () => {
  const open = await run(
    harness({
      work: [message(1, 'ann', '#dev', '@bob')],
      audience: { 1: [{ nick: 'bob', level: null, mentioned: true }] },
      mentionsNotify: false,
    }),
  );
  assert.equal(open.length, 0);
  const edit: LoggedEvent = {
    kind: 'edit',
    edit: {
      id: 5,
      target: 1,
      from: 'ann',
      to: '#dev',
      text: 'now @bob',
      ts: 2,
      mentions: ['bob'],
      added: ['bob'],
    },
  };
  const noAdd: LoggedEvent = {
    kind: 'edit',
    edit: {
      id: 6,
      target: 1,
      from: 'ann',
      to: '#dev',
      text: 'again @bob',
      ts: 3,
      mentions: ['bob'],
    },
  };
  const hidden = await run(
    harness({
      work: [edit, noAdd],
      audience: {
        5: [{ nick: 'bob', level: 'all', mentioned: true }],
        6: [{ nick: 'bob', level: 'all', mentioned: false }],
      },
      hide: ['bob'],
    }),
  );
  assert.deepEqual(
    hidden.map((s) => s.payload),
    [{ title: 'ssechat', body: 'New message', tag: 'ssechat', url: '/', unread: 2 }],
  );
});

test('a message of files alone is pushed as its files', async () => {
  const file = (id: string, name: string) => ({ id, name, size: 1, type: 'application/pdf' });
  const one: LoggedEvent = {
    kind: 'message',
    message: {
      id: 1,
      from: 'ann',
      to: 'bob',
      text: '',
      ts: 1,
      offline: false,
      attachments: [file('a', 'q3.pdf')],
    },
  };
  const two: LoggedEvent = {
    kind: 'message',
    message: {
      id: 2,
      from: 'ann',
      to: 'bob',
      text: '',
      ts: 1,
      offline: false,
      attachments: [file('a', 'q3.pdf'), file('b', 'q4.pdf')],
    },
  };
  const bob = [{ nick: 'bob', level: null, mentioned: false }];
  const sent = await run(harness({ work: [one, two], audience: { 1: bob, 2: bob } }));
  assert.deepEqual(
    sent.map((s) => s.payload.body),
    ['📎 q3.pdf', '📎 2 files'],
  );
});

test('nobody subscribed: the cursor skips the events, none is read or pushed', async () => {
  const h = harness({
    work: [message(1, 'ann', 'bob', 'hi bob')],
    audience: { 1: [{ nick: 'bob', level: null, mentioned: false }] },
    subscribed: false,
  });
  assert.deepEqual(await run(h), []);
  assert.equal(h.calls.claimed, 0);
  assert.ok(h.calls.skipped >= 1);
});
