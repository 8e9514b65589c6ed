// Issue 23, part E, reports over the wire: a report reaches the people who moderate the
// message and nobody else (a room's owners and moderators, the admins; a direct message's the
// admins only), a message the reporter cannot see is refused like a missing one, a repeat
// does not make a second report, one step handles a report (delete, kick, mute, ban) with the
// audit written, and the reporter hears the outcome live and in their own list.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { configWith } from '../src/config.js';
import type { RunningServer } from '../src/main.js';
import { sqlitePath } from '../src/startup.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';
import { admin, TEST_DATABASE_URL, testSchemas } from './pg-schemas.js';

const PASSWORD = 'correct horse battery';

const pgSchema = testSchemas('reports_');

/** Starts a server in accounts mode on `engine` and makes `nick` a server admin. */
async function start(
  engine: 'sqlite' | 'postgres',
  dir: string,
  nick: string,
  register: (server: RunningServer) => Promise<void>,
): Promise<RunningServer> {
  if (engine === 'sqlite') {
    const server = await startTestServer({ auth: 'accounts', dataDir: dir, ...NO_LIMITS });
    await register(server);
    // The CLI's `ssechat user role <nick> admin` writes the same column.
    const db = new Database(sqlitePath(configWith({ dataDir: dir, store: 'sqlite' })));
    db.prepare('UPDATE users SET admin = 1 WHERE nick = ?').run(nick);
    db.close();
    return server;
  }
  const schema = pgSchema();
  const server = await startTestServer({
    auth: 'accounts',
    store: 'postgres',
    databaseUrl: TEST_DATABASE_URL,
    databaseSchema: schema,
    dataDir: dir,
    ...NO_LIMITS,
  });
  await register(server);
  await admin(`UPDATE ${schema}.users SET admin = true WHERE nick = $1`, [nick]);
  return server;
}

for (const engine of ['sqlite', 'postgres'] as const)
  describe(`reports (accounts mode, ${engine})`, () => {
    let server: RunningServer;
    let dir: string;
    const cookies = new Map<string, Record<string, string>>();
    const streams: SseClient[] = [];
    const base = () => server.url;
    const as = async (nick: string) => {
      let c = cookies.get(nick);
      if (!c) {
        c = await session(base(), nick, PASSWORD, true);
        cookies.set(nick, c);
      }
      return c;
    };
    const call = async (nick: string, method: string, path: string, body?: unknown) =>
      api(base(), method, `/api/v1${path}`, body, await as(nick));
    const ok = async (nick: string, method: string, path: string, body?: unknown) => {
      const r = await call(nick, method, path, body);
      assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.body}`);
      return r.json;
    };
    const say = async (nick: string, to: string, text: string): Promise<number> =>
      (await ok(nick, 'POST', '/messages', { to, text })).id;
    const report = (nick: string, id: number, reason = 'abuse') =>
      call(nick, 'POST', `/messages/${id}/report`, { reason });
    const queue = async (nick: string, status = 'open') =>
      (await ok(nick, 'GET', `/reports?status=${status}`)).reports as Array<{
        id: number;
        message: { id: number; from: string; text: string; deleted?: true };
        room: string | null;
        status: string;
        outcome: string | null;
      }>;
    const stream = async (nick: string) => {
      const s = await SseClient.open(base(), '/api/v1/events', await as(nick));
      streams.push(s);
      await s.waitFor((c) => c.of('hello').length > 0);
      return s;
    };

    // troll writes in #a (olga owns it, mo moderates it), in #b (bo owns it) and to rep.
    let inA: number;
    let inB: number;
    let dm: number;
    let secret: number;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ssechat-reports-'));
      server = await start(engine, dir, 'ada', async (s) => {
        server = s;
        for (const nick of ['ada', 'olga', 'mo', 'bo', 'rep', 'troll', 'plain', 'eve']) {
          await as(nick);
        }
      });
      await ok('olga', 'POST', '/rooms', { name: '#a' });
      await ok('bo', 'POST', '/rooms', { name: '#b' });
      await ok('eve', 'POST', '/rooms', { name: '#hidden', visibility: 'private' });
      for (const nick of ['mo', 'rep', 'troll', 'plain'])
        await ok(nick, 'POST', '/rooms/a/join', {});
      for (const nick of ['rep', 'troll']) await ok(nick, 'POST', '/rooms/b/join', {});
      await ok('olga', 'PUT', '/rooms/a/members/mo', { role: 'moderator' });
      inA = await say('troll', '#a', 'rude words in a');
      inB = await say('troll', '#b', 'rude words in b');
      dm = await say('troll', 'rep', 'a rude direct message');
      secret = await say('eve', '#hidden', 'nobody else sees this');
    });
    after(async () => {
      for (const s of streams) s.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a report is filed once; a repeat returns the open one', async () => {
      const first = await report('rep', inA, 'insults');
      assert.equal(first.status, 201, first.body);
      assert.equal(first.json.report.status, 'open');
      assert.equal(first.json.report.message.id, inA);
      assert.equal(first.json.report.room, '#a');
      const again = await report('rep', inA, 'insults, again');
      assert.equal(again.status, 200, again.body);
      assert.equal(again.json.report.id, first.json.report.id);
      assert.equal((await report('rep', inB)).status, 201);
      assert.equal((await report('rep', dm)).status, 201);
      const mine = await ok('rep', 'GET', '/account/reports');
      assert.equal(mine.reports.length, 3, 'no duplicate');
      // A reason is required, and one's own message is not reported.
      assert.equal(
        (await call('rep', 'POST', `/messages/${inA}/report`, {})).json.error.code,
        'MOD_REASON_INVALID',
      );
      assert.equal((await report('troll', inA)).status, 403);
    });

    test('a message the reporter cannot see is refused like a missing one', async () => {
      const missing = await report('plain', 999_999_999);
      assert.equal(missing.status, 404);
      for (const id of [dm, secret, inB]) {
        const hidden = await report('plain', id);
        assert.equal(hidden.status, 404, `message ${id}`);
        assert.deepEqual(hidden.json, missing.json);
      }
    });

    test('reports flow to the moderators of the room only; DMs to admins only', async () => {
      const ids = (rs: Awaited<ReturnType<typeof queue>>) => rs.map((r) => r.message.id).sort();
      assert.deepEqual(ids(await queue('mo')), [inA], 'a moderator of #a sees #a only');
      assert.deepEqual(ids(await queue('olga')), [inA], 'an owner of #a sees #a only');
      assert.deepEqual(ids(await queue('bo')), [inB], 'an owner of #b sees #b only');
      assert.deepEqual(await queue('plain'), [], 'a plain member sees none');
      assert.deepEqual(await queue('troll'), []);
      assert.deepEqual(ids(await queue('ada')), [inA, inB, dm].sort(), 'an admin sees all');
      const [a] = await queue('mo');
      assert.equal(a?.message.text, 'rude words in a');
      assert.equal(a?.message.from, 'troll');
      // Acting on a report one does not moderate is refused like a missing report.
      const [b] = await queue('bo');
      const foreign = await call('mo', 'POST', `/reports/${b?.id}`, { action: 'dismiss' });
      assert.equal(foreign.status, 404);
      assert.equal(foreign.json.error.code, 'REPORT_NOT_FOUND');
      assert.equal(
        (await call('plain', 'POST', `/reports/${b?.id}`, { action: 'dismiss' })).status,
        404,
      );
    });

    test('a room moderator deletes in one step; mute and ban are for admins', async () => {
      const watch = await stream('rep');
      const [a] = await queue('mo');
      assert.ok(a);
      const mute = await call('mo', 'POST', `/reports/${a.id}`, {
        action: 'mute',
        reason: 'cool down',
        minutes: 10,
      });
      assert.equal(mute.status, 403);
      assert.equal(mute.json.error.code, 'AUTH_ADMIN_ONLY');
      const done = await ok('mo', 'POST', `/reports/${a.id}`, {
        action: 'delete',
        reason: 'insults',
      });
      assert.equal(done.report.status, 'actioned');
      assert.equal(done.report.outcome, 'delete');
      const history = await ok('mo', 'GET', '/messages?with=%23a');
      const gone = history.messages.find((m: { id: number }) => m.id === inA);
      assert.equal(gone?.deleted, true);
      const again = await call('mo', 'POST', `/reports/${a.id}`, { action: 'dismiss' });
      assert.equal(again.status, 409);
      assert.equal(again.json.error.code, 'REPORT_CLOSED');
      // The reporter hears it live, and reads it in their own list (without the moderator's name).
      await watch.waitFor((s) => s.of('report').some((r) => r.id === a.id));
      const event = watch.of('report').find((r) => r.id === a.id);
      assert.deepEqual(event, { id: a.id, status: 'actioned', outcome: 'delete', message: inA });
      const mine = await ok('rep', 'GET', '/account/reports?status=closed');
      assert.equal(mine.reports.length, 1);
      assert.equal(mine.reports[0].outcome, 'delete');
      assert.equal(mine.reports[0].handledBy, null);
      assert.equal(mine.reports[0].message.deleted, true);
      assert.deepEqual(await queue('mo'), []);
      assert.equal((await queue('mo', 'closed')).length, 1);
      // Audited in the transaction that closed the report; the delete by the moderator too.
      const audit = await ok('ada', 'GET', '/admin/audit?action=report.act');
      const row = audit.entries.find(
        (e: { detail: { report?: number } | null }) => e.detail?.report === a.id,
      );
      assert.ok(row, 'report.act audited');
      assert.equal(row.actor, 'mo');
      assert.equal(row.target, 'troll');
      assert.equal(row.room, '#a');
      assert.equal(row.message, inA);
      assert.equal(row.reason, 'insults');
    });

    test('an admin mutes and bans from a report in one step', async () => {
      const open = await queue('ada');
      const b = open.find((r) => r.message.id === inB);
      const d = open.find((r) => r.message.id === dm);
      assert.ok(b && d);
      const muted = await ok('ada', 'POST', `/reports/${b.id}`, {
        action: 'mute',
        reason: 'spam',
        minutes: 30,
      });
      assert.equal(muted.report.outcome, 'mute');
      const refused = await call('troll', 'POST', '/messages', { to: '#b', text: 'again' });
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error.code, 'CHAT_MUTED');
      const banned = await ok('ada', 'POST', `/reports/${d.id}`, {
        action: 'ban',
        reason: 'harassment',
      });
      assert.equal(banned.report.outcome, 'ban');
      const login = await api(base(), 'POST', '/api/v1/session', {
        nick: 'troll',
        password: PASSWORD,
      });
      assert.equal(login.status, 403);
      assert.equal(login.json.error.code, 'AUTH_BANNED');
      const audit = await ok('ada', 'GET', '/admin/audit?target=troll');
      const actions = audit.entries.map((e: { action: string }) => e.action);
      for (const a of ['mute', 'ban', 'report.act']) assert.ok(actions.includes(a), a);
      const mine = await ok('rep', 'GET', '/account/reports?status=closed');
      assert.deepEqual(mine.reports.map((r: { outcome: string }) => r.outcome).sort(), [
        'ban',
        'delete',
        'mute',
      ]);
    });

    test('a moderator kicks the author from the room in one step', async () => {
      const culprit = await say('plain', '#a', 'off-topic again');
      const watch = await stream('mo');
      const bystander = await stream('bo');
      const filed = await report('rep', culprit, 'off-topic');
      assert.equal(filed.status, 201);
      // The room's moderators hear of it live; the owner of another room does not.
      await watch.waitFor((s) => s.of('reported').some((e) => e.id === filed.json.report.id));
      assert.deepEqual(watch.of('reported').at(-1), { id: filed.json.report.id, room: '#a' });
      const [r] = await queue('mo');
      assert.equal(r?.message.id, culprit);
      const kicked = await ok('mo', 'POST', `/reports/${r?.id}`, {
        action: 'kick',
        reason: 'off-topic',
      });
      assert.equal(kicked.report.outcome, 'kick');
      const members = await ok('olga', 'GET', '/rooms/a');
      assert.ok(!JSON.stringify(members).includes('"plain"'), 'plain is no longer a member');
      assert.deepEqual(bystander.of('reported'), []);
    });

    test('handling a report closes every open report of the message; a new one is new', async () => {
      const id = await say('olga', '#a', 'a borderline joke');
      const first = await report('rep', id, 'not funny');
      const second = await report('mo', id, 'offensive');
      assert.equal(first.status, 201);
      assert.equal(second.status, 201);
      assert.notEqual(first.json.report.id, second.json.report.id);
      const dismissed = await ok('ada', 'POST', `/reports/${first.json.report.id}`, {
        action: 'dismiss',
      });
      assert.equal(dismissed.report.status, 'dismissed');
      for (const nick of ['rep', 'mo']) {
        const mine = await ok(nick, 'GET', '/account/reports');
        const r = mine.reports.find((x: { message: { id: number } }) => x.message.id === id);
        assert.equal(r?.status, 'dismissed', nick);
        assert.equal(r?.outcome, 'dismiss', nick);
      }
      const again = await report('rep', id, 'still not funny');
      assert.equal(again.status, 201, 'a closed report does not swallow a new one');
      // Kick is for a room's message: a direct message's report stays open.
      const dmId = await say('olga', 'rep', 'a direct message');
      const filed = await report('rep', dmId, 'unwanted');
      const kick = await call('ada', 'POST', `/reports/${filed.json.report.id}`, {
        action: 'kick',
        reason: 'no',
      });
      assert.equal(kick.status, 400);
      assert.equal(kick.json.error.code, 'REPORT_ACTION_INVALID');
      const open = await queue('ada');
      assert.ok(open.some((r) => r.id === filed.json.report.id));
      assert.ok(
        !(await queue('olga')).some((r) => r.id === filed.json.report.id),
        'DMs: admins only',
      );
      const bad = await call('ada', 'POST', `/reports/${filed.json.report.id}`, { action: 'nuke' });
      assert.equal(bad.json.error.code, 'REPORT_ACTION_INVALID');
    });
  });

describe('reports (open mode)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS });
  });
  after(() => server.close());

  test('reports need accounts', async () => {
    const c = await session(server.url, 'someone');
    const r = await api(server.url, 'GET', '/api/v1/reports', undefined, c);
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'AUTH_ACCOUNTS_ONLY');
  });
});
