/**
 * Hostile review of issue 23 (admins, sanctions, reports, registration, blocks): each test is
 * an attack that once worked or that the review tried, over the real wire.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { configWith } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import type { RunningServer } from '../src/main.js';
import { openStore } from '../src/open-store.js';
import { dataDir, promote } from './admin-kit.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';
import { TEST_DATABASE_URL, testSchemas } from './pg-schemas.js';
import { SUBJECT } from './push-fixture.js';
import { FakePushService } from './push-service.js';

const PASSWORD = 'correct horse';

/** The answer to a held request. */
interface HeldReply {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions check the shape themselves
  readonly json: any;
}

/**
 * Starts `method path` with its headers and holds the body back until `send` is called: a
 * request authenticated before something happens and completed after it.
 */
function heldRequest(
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): { send: () => Promise<HeldReply> } {
  const payload = JSON.stringify(body);
  let resolveReply: (r: HeldReply) => void = () => {};
  let rejectReply: (e: unknown) => void = () => {};
  const reply = new Promise<HeldReply>((resolve, reject) => {
    resolveReply = resolve;
    rejectReply = reject;
  });
  const req = request(
    `${base}/`,
    {
      method,
      path,
      agent: false,
      headers: {
        ...headers,
        'Content-Type': 'application/json',
        'Content-Length': String(Buffer.byteLength(payload)),
      },
    },
    (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () =>
        resolveReply({
          status: res.statusCode ?? 0,
          json: text === '' ? undefined : JSON.parse(text),
        }),
      );
    },
  );
  req.on('error', rejectReply);
  req.flushHeaders();
  return {
    send: () => {
      req.end(payload);
      return reply;
    },
  };
}

describe('review: bans, mutes, reports (accounts mode)', () => {
  const dir = dataDir();
  const config = { auth: 'accounts', dataDir: dir, pushSubject: SUBJECT, ...NO_LIMITS } as const;
  let server: RunningServer;
  let base: string;
  let root: Record<string, string>;
  let service: FakePushService;

  before(async () => {
    service = await FakePushService.start(SUBJECT);
    server = await startTestServer(config);
    base = server.url;
    root = await session(base, 'root', PASSWORD, true);
    await promote(dir, 'root');
  });
  after(async () => {
    await server.close();
    await service.close();
  });

  test('a token asked for before a ban and finished after it does not outlive the ban', async () => {
    const ann = await session(base, 'tokann', PASSWORD, true);
    const held = heldRequest(base, 'POST', '/api/v1/tokens', { label: 'bot' }, ann);
    // The server has read the headers (and the session) before the ban.
    await new Promise((r) => setTimeout(r, 150));
    const banned = await api(
      base,
      'POST',
      '/api/v1/admin/users/tokann/ban',
      { reason: 'spam' },
      root,
    );
    assert.equal(banned.status, 201, banned.body);
    const reply = await held.send();
    if (reply.status === 201) {
      const bearer = { Authorization: `Bearer ${reply.json.token}` };
      const me = await api(base, 'GET', '/api/v1/session', undefined, bearer);
      assert.equal(me.status, 401, `the token made across the ban works: ${me.body}`);
      const sent = await api(base, 'POST', '/api/v1/messages', { to: 'root', text: 'hi' }, bearer);
      assert.notEqual(sent.status, 201, 'a banned user sends with the token');
    } else {
      assert.ok([401, 403].includes(reply.status), JSON.stringify(reply.json));
    }
  });

  test('a ticket asked for across a ban opens no stream', async () => {
    const ann = await session(base, 'tickann', PASSWORD, true);
    // No body: the ticket route reads none; the race is the Store's (auth then insert).
    const banned = api(base, 'POST', '/api/v1/admin/users/tickann/ban', { reason: 'spam' }, root);
    const ticket = await api(base, 'POST', '/api/v1/tickets', {}, ann);
    assert.equal((await banned).status, 201);
    if (ticket.status === 201) {
      const s = await SseClient.open(base, `/api/v1/events?ticket=${ticket.json.ticket}`);
      try {
        assert.notEqual(s.status, 200, 'a banned user opened a stream');
      } finally {
        s.close();
      }
    }
  });

  test('a push subscription asked for across a ban does not outlive it', async () => {
    const ann = await session(base, 'pushann', PASSWORD, true);
    const json = { ...service.browser().json, endpoint: 'https://93.184.215.14/push/review' };
    const held = heldRequest(base, 'POST', '/api/v1/push/subscriptions', json, ann);
    await new Promise((r) => setTimeout(r, 150));
    const banned = await api(
      base,
      'POST',
      '/api/v1/admin/users/pushann/ban',
      { reason: 'x' },
      root,
    );
    assert.equal(banned.status, 201, banned.body);
    const reply = await held.send();
    assert.notEqual(reply.status, 201, JSON.stringify(reply.json));
    const store = await openStore(configWith({ store: 'sqlite', dataDir: dir }), silentLogger);
    try {
      assert.deepEqual(await store.push.subscriptions(['pushann']), []);
    } finally {
      await store.close();
    }
  });

  test('requests held open across a ban and finished after it act as nobody', async () => {
    const ann = await session(base, 'heldann', PASSWORD, true);
    const sends = Array.from({ length: 3 }, (_, i) =>
      heldRequest(base, 'POST', '/api/v1/messages', { to: 'root', text: `after ${i}` }, ann),
    );
    const profile = heldRequest(base, 'PATCH', '/api/v1/users/heldann', { displayName: 'x' }, ann);
    await new Promise((r) => setTimeout(r, 150));
    const banned = await api(
      base,
      'POST',
      '/api/v1/admin/users/heldann/ban',
      { reason: 'x' },
      root,
    );
    assert.equal(banned.status, 201, banned.body);
    for (const held of [...sends, profile]) {
      const reply = await held.send();
      assert.equal(reply.status, 401, JSON.stringify(reply.json));
    }
    const history = await api(base, 'GET', '/api/v1/messages?with=heldann', undefined, root);
    assert.equal(history.status, 200, history.body);
    assert.deepEqual(history.json.messages, []);
  });

  test('an account with audit rows and an invite use is deleted; its audit rows stay', async () => {
    // The audit row names them as a target (a kick), and they registered with an invite.
    const made = await api(base, 'POST', '/api/v1/admin/invites', { maxUses: 5 }, root);
    assert.equal(made.status, 201, made.body);
    const reg = { nick: 'gone', password: PASSWORD, invite: made.json.code };
    assert.equal((await api(base, 'POST', '/api/v1/users', reg)).status, 201);
    const gone = await session(base, 'gone', PASSWORD);
    assert.equal(
      (await api(base, 'POST', '/api/v1/rooms', { name: '#audited' }, root)).status,
      201,
    );
    assert.ok((await api(base, 'POST', '/api/v1/rooms/audited/join', {}, gone)).status < 300);
    const kick = { nick: 'gone', reason: 'rude' };
    const kicked = await api(base, 'POST', '/api/v1/rooms/audited/kick', kick, root);
    assert.equal(kicked.status, 200, kicked.body);
    const del = await api(base, 'DELETE', '/api/v1/account', { password: PASSWORD }, gone);
    assert.equal(del.status, 204, del.body);
    const audit = await api(base, 'GET', '/api/v1/admin/audit?target=gone', undefined, root);
    assert.deepEqual(
      audit.json.entries.map((e: { action: string }) => e.action),
      ['kick'],
    );
  });

  test('a reported message edited afterwards says so in the queue (no silent evasion)', async () => {
    const troll = await session(base, 'edtroll', PASSWORD, true);
    const rep = await session(base, 'edrep', PASSWORD, true);
    assert.equal((await api(base, 'POST', '/api/v1/rooms', { name: '#edits' }, root)).status, 201);
    for (const who of [troll, rep]) {
      assert.ok((await api(base, 'POST', '/api/v1/rooms/edits/join', {}, who)).status < 300);
    }
    const sent = await api(
      base,
      'POST',
      '/api/v1/messages',
      { to: '#edits', text: 'abuse' },
      troll,
    );
    assert.equal(sent.status, 201, sent.body);
    const filed = await api(
      base,
      'POST',
      `/api/v1/messages/${sent.json.id}/report`,
      { reason: 'x' },
      rep,
    );
    assert.equal(filed.status, 201, filed.body);
    const edit = await api(
      base,
      'PATCH',
      `/api/v1/messages/${sent.json.id}`,
      { text: 'hi' },
      troll,
    );
    assert.ok(edit.status < 300, edit.body);
    const queue = await api(base, 'GET', '/api/v1/reports', undefined, root);
    const mine = queue.json.reports.find((r: { id: number }) => r.id === filed.json.report.id);
    assert.equal(mine.message.text, 'hi');
    assert.equal(typeof mine.message.edited, 'number', JSON.stringify(mine.message));
    assert.ok(mine.message.edited >= mine.ts);
  });

  test('an admin demoted while a request of theirs waits for its body cannot finish it', async () => {
    const rogue = await session(base, 'rogue', PASSWORD, true);
    await session(base, 'pal', PASSWORD, true);
    await promote(dir, 'rogue');
    const held = [
      heldRequest(base, 'PUT', '/api/v1/admin/users/pal/role', { role: 'admin' }, rogue),
      heldRequest(base, 'POST', '/api/v1/admin/users/pal/mute', { reason: 'x', minutes: 5 }, rogue),
      heldRequest(base, 'POST', '/api/v1/admin/invites', { maxUses: 5 }, rogue),
      heldRequest(base, 'PUT', '/api/v1/admin/registration', { mode: 'open' }, rogue),
      heldRequest(base, 'POST', '/api/v1/admin/users', { nick: 'sock', password: PASSWORD }, rogue),
    ];
    await new Promise((r) => setTimeout(r, 150));
    const demoted = await api(
      base,
      'PUT',
      '/api/v1/admin/users/rogue/role',
      { role: 'user' },
      root,
    );
    assert.equal(demoted.status, 200, demoted.body);
    for (const h of held) {
      const reply = await h.send();
      assert.equal(reply.status, 403, JSON.stringify(reply.json));
      assert.equal(reply.json.error.code, 'AUTH_ADMIN_ONLY');
    }
    const pal = await api(base, 'GET', '/api/v1/admin/users?q=pal', undefined, root);
    assert.equal(pal.json.users[0].admin, false);
    assert.equal(pal.json.users[0].mute, null);
  });

  test('a muted user cannot change the name everyone sees', async () => {
    const mo = await session(base, 'mutedmo', PASSWORD, true);
    const muted = await api(
      base,
      'POST',
      '/api/v1/admin/users/mutedmo/mute',
      { reason: 'x', minutes: 5 },
      root,
    );
    assert.equal(muted.status, 201, muted.body);
    const renamed = await api(
      base,
      'PATCH',
      '/api/v1/users/mutedmo',
      { displayName: 'insult' },
      mo,
    );
    assert.equal(renamed.status, 403, renamed.body);
    assert.equal(renamed.json.error.code, 'CHAT_MUTED');
  });
});

const pgSchema = testSchemas('review_');

for (const engine of ['sqlite', 'postgres'] as const)
  describe(`review: blocks (accounts mode, ${engine})`, () => {
    let server: RunningServer;
    let base: string;
    const cookies = new Map<string, Record<string, string>>();
    const as = async (nick: string) => {
      let c = cookies.get(nick);
      if (!c) {
        c = await session(base, nick, PASSWORD, true);
        cookies.set(nick, c);
      }
      return c;
    };
    const call = async (nick: string, method: string, path: string, body?: unknown) =>
      api(base, method, `/api/v1${path}`, body, await as(nick));

    before(async () => {
      server = await startTestServer({
        ...NO_LIMITS,
        auth: 'accounts',
        ...(engine === 'postgres' && {
          store: 'postgres',
          databaseUrl: TEST_DATABASE_URL,
          databaseSchema: pgSchema(),
        }),
      });
      base = server.url;
    });
    after(async () => {
      await server.close();
    });

    test("a blocked user's edit of an older DM does not reach the blocker's history", async () => {
      await as('ann');
      const old = await call('eve', 'POST', '/messages', { to: 'ann', text: 'hello ann' });
      assert.equal(old.status, 201, old.body);
      const answer = { to: 'eve', text: 'hi eve', replyTo: old.json.id };
      assert.equal((await call('ann', 'POST', '/messages', answer)).status, 201);
      assert.equal((await call('ann', 'PUT', '/blocks/eve')).status, 200);
      const edit = await call('eve', 'PATCH', `/messages/${old.json.id}`, { text: 'new abuse' });
      assert.ok(edit.status < 300, edit.body);
      const history = await call('ann', 'GET', '/messages?with=eve');
      const texts = history.json.messages.map((m: { text: string }) => m.text);
      assert.ok(!texts.includes('new abuse'), `the blocker reads the edit: ${texts}`);
      // Nor through the preview of their own reply to it.
      assert.equal(JSON.stringify(history.json).includes('new abuse'), false, history.body);
      const found = await call('ann', 'GET', '/search?q=abuse');
      assert.equal(found.status, 200, found.body);
      assert.equal(JSON.stringify(found.json).includes('new abuse'), false, found.body);
    });

    test('the blocked user cannot read the block from a reaction or typing event of a third party', async () => {
      // Room typing and reactions carry a list of the blockers to skip: it must never be shown.
      for (const nick of ['bob', 'cid']) await as(nick);
      assert.equal((await call('bob', 'POST', '/rooms', { name: '#blk' })).status, 201);
      for (const nick of ['cid', 'ann', 'eve']) {
        assert.ok((await call(nick, 'POST', '/rooms/blk/join', {})).status < 300);
      }
      const watch = await SseClient.open(base, '/api/v1/events', await as('cid'));
      try {
        await watch.waitFor((c) => c.of('hello').length > 0);
        const typed = await call('eve', 'POST', '/typing', { to: '#blk' });
        assert.ok(typed.status < 300, typed.body);
        await watch.waitFor((c) => c.of('typing').length > 0);
        assert.equal(watch.raw.includes('hide'), false, watch.raw);
        assert.equal(watch.raw.includes('"ann"'), false, watch.raw);
      } finally {
        watch.close();
      }
    });

    test("a blocked user's reaction to the blocker's own DM does not reach the blocker", async () => {
      await as('amy');
      await as('evan');
      const mine = await call('amy', 'POST', '/messages', { to: 'evan', text: 'before the block' });
      assert.equal(mine.status, 201, mine.body);
      assert.equal((await call('amy', 'PUT', '/blocks/evan')).status, 200);
      const watch = await SseClient.open(base, '/api/v1/events', await as('amy'));
      try {
        await watch.waitFor((c) => c.of('hello').length > 0);
        const put = await call('evan', 'PUT', `/messages/${mine.json.id}/reactions/%F0%9F%91%8D`);
        assert.ok(put.status < 300, put.body);
        // A barrier: amy's note to herself arrives after anything logged before it.
        const note = await call('amy', 'POST', '/messages', { to: 'amy', text: 'barrier' });
        await watch.waitFor((c) => c.of('message').some((m) => m.id === note.json.id));
        assert.deepEqual(watch.of('reaction'), [], 'the reaction reached the blocker live');
      } finally {
        watch.close();
      }
      const history = await call('amy', 'GET', '/messages?with=evan');
      const [m] = history.json.messages;
      assert.equal(JSON.stringify(m.reactions ?? []).includes('evan'), false, JSON.stringify(m));
      assert.equal(m.reactions?.length ?? 0, 0, JSON.stringify(m));
    });
  });
