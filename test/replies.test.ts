// Issue 22, replies, over the wire: `replyTo` on a send, the preview each reader gets live, on
// resume and in history, and users who try to learn through a reply what is not theirs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { Actors } from './actors.js';
import { NO_LIMITS, startTestServer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-replies-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Message {
  id: number;
  text: string;
  replyTo?: number;
  reply?: { id: number; from?: string; text?: string; edited?: number; unavailable?: true };
}

describe('replies over the wire (sqlite)', () => {
  let server: RunningServer;
  const actors = new Actors();
  const { call, say, stream } = actors;
  /** Sends a reply and returns the answer's status and JSON. */
  const reply = (nick: string, to: string, text: string, replyTo: unknown) =>
    call(nick, 'POST', '/messages', { to, text, replyTo });
  const replied = async (nick: string, to: string, text: string, replyTo: number) => {
    const r = await reply(nick, to, text, replyTo);
    assert.equal(r.status, 201, r.body);
    return r.json.id as number;
  };
  const page = async (nick: string, peer: string): Promise<Message[]> => {
    const r = await call(nick, 'GET', `/messages?with=${encodeURIComponent(peer)}&limit=200`);
    assert.equal(r.status, 200, r.body);
    return r.json.messages;
  };
  const inPage = async (nick: string, peer: string, id: number) =>
    (await page(nick, peer)).find((m) => m.id === id);

  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, store: 'sqlite', dataDir: dir });
    actors.base = server.url;
  });
  after(async () => {
    actors.closeStreams();
    await server.close();
  });

  test('a reply is sent with replyTo; both parties see the preview live and in history', async () => {
    const bob = await stream('bob');
    const target = await say('alice', 'bob', 'lunch at noon?');
    const id = await replied('bob', 'alice', 'yes, at the usual place', target);
    const preview = { id: target, from: 'alice', text: 'lunch at noon?' };
    await bob.waitFor((s) => s.of('message').some((m: Message) => m.id === id));
    const live = bob.of('message').find((m: Message) => m.id === id);
    assert.equal(live.replyTo, target);
    assert.deepEqual({ ...live.reply, ts: undefined }, { ...preview, ts: undefined });
    for (const [nick, peer] of [
      ['alice', 'bob'],
      ['bob', 'alice'],
    ] as const) {
      const m = await inPage(nick, peer, id);
      assert.equal(m?.replyTo, target);
      assert.equal(m?.reply?.text, preview.text, nick);
    }
    // The edited target shows its new text; once deleted, the reply shows it unavailable.
    assert.equal(
      (await call('alice', 'PATCH', `/messages/${target}`, { text: 'lunch at one?' })).status,
      200,
    );
    assert.equal((await inPage('bob', 'alice', id))?.reply?.text, 'lunch at one?');
    assert.ok((await inPage('bob', 'alice', id))?.reply?.edited);
    assert.equal((await call('alice', 'DELETE', `/messages/${target}`)).status, 200);
    assert.deepEqual((await inPage('bob', 'alice', id))?.reply, { id: target, unavailable: true });
  });

  test("a reply to another pair's message is refused exactly as a missing id is", async () => {
    const secret = await say('alice', 'bob', 'our secret');
    const head = await say('alice', 'all', 'latest');
    const hidden = await reply('carol', 'alice', 'what secret?', secret);
    const missing = await reply('carol', 'alice', 'what secret?', head + 1000);
    assert.equal(hidden.status, 404);
    assert.equal(missing.status, 404);
    assert.deepEqual(hidden.json, missing.json);
    assert.equal(hidden.json.error.code, 'CHAT_MESSAGE_NOT_FOUND');
    // Nothing was stored either way: carol's page with alice holds no such reply.
    assert.equal((await page('carol', 'alice')).length, 0);
  });

  test('a reply must stay in its conversation, and replyTo must be a positive safe integer', async () => {
    const dm = await say('alice', 'bob', 'between us');
    const broadcast = await say('alice', 'all', 'to all');
    for (const [to, target] of [
      ['all', dm],
      ['carol', dm],
      ['bob', broadcast],
    ] as const) {
      const r = await reply('alice', to, 'elsewhere', target);
      assert.equal(r.status, 400, `${to} ${target}`);
      assert.equal(r.json.error.code, 'CHAT_REPLY_INVALID');
    }
    for (const bad of [String(broadcast), -1, 0, 1.5, 2 ** 53, 1e300, true, [broadcast], {}]) {
      const r = await reply('alice', 'all', 'bad', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.json.error.code, 'CHAT_REPLY_INVALID', JSON.stringify(bad));
    }
    assert.equal((await reply('alice', 'all', 'none', null)).status, 201);
  });

  test('in a history-joined room, a later member gets the reply with the preview unavailable', async () => {
    assert.equal((await call('dora', 'POST', '/rooms', { name: '#pier' })).status, 201);
    assert.equal((await call('erin', 'POST', '/rooms/pier/join', {})).status, 201);
    const target = await say('dora', '#pier', 'the boat leaves at six');
    assert.equal((await call('finn', 'POST', '/rooms/pier/join', {})).status, 201);
    const [dora, erin, finn] = await Promise.all([stream('dora'), stream('erin'), stream('finn')]);
    // A non-member may not reply into the room, whatever the target.
    assert.equal((await reply('gus', '#pier', 'hi', target)).status, 403);
    // finn may not reply to what he never saw: the same 404 as for nothing.
    assert.equal((await reply('finn', '#pier', 'which boat?', target)).status, 404);
    const id = await replied('erin', '#pier', 'I will be there', target);
    const got = async (s: typeof dora) => {
      await s.waitFor((c) => c.of('message').some((m: Message) => m.id === id));
      return s.of('message').find((m: Message) => m.id === id) as Message;
    };
    assert.equal((await got(dora)).reply?.text, 'the boat leaves at six');
    assert.equal((await got(erin)).reply?.text, 'the boat leaves at six');
    assert.deepEqual((await got(finn)).reply, { id: target, unavailable: true });
    assert.ok(!finn.raw.includes('the boat leaves'), 'the text never reaches finn');
    assert.deepEqual((await inPage('finn', '#pier', id))?.reply, { id: target, unavailable: true });
    assert.equal((await inPage('erin', '#pier', id))?.reply?.text, 'the boat leaves at six');
    // A reply from another room is another conversation.
    assert.equal((await call('dora', 'POST', '/rooms', { name: '#dock' })).status, 201);
    assert.equal((await reply('dora', '#dock', 'moved', target)).status, 400);
  });

  test('in a history-all room, a later member sees the preview live', async () => {
    assert.equal(
      (await call('hal', 'POST', '/rooms', { name: '#lib', history: 'all' })).status,
      201,
    );
    const target = await say('hal', '#lib', 'quiet please');
    assert.equal((await call('ivy', 'POST', '/rooms/lib/join', {})).status, 201);
    const ivy = await stream('ivy');
    const id = await replied('ivy', '#lib', 'sorry', target);
    await ivy.waitFor((c) => c.of('message').some((m: Message) => m.id === id));
    assert.equal(ivy.of('message').find((m: Message) => m.id === id).reply.text, 'quiet please');
  });

  test('a resume across a reply replays it exactly once, with its preview', async () => {
    const first = await stream('kim');
    const target = await say('lee', 'all', 'the original');
    await first.waitFor((c) => c.of('message').some((m: Message) => m.id === target));
    const lastId = first.events.at(-1)?.id;
    assert.ok(lastId);
    first.close();
    const id = await replied('lee', 'all', 'the answer', target);
    const marker = await say('lee', 'all', 'after the answer');
    const back = await stream('kim', lastId);
    await back.waitFor((c) => c.of('message').some((m: Message) => m.id === marker));
    const copies = back.of('message').filter((m: Message) => m.id === id);
    assert.equal(copies.length, 1);
    assert.equal(copies[0].replyTo, target);
    assert.equal(copies[0].reply.text, 'the original');
    assert.equal(copies[0].reply.from, 'lee');
  });
});
