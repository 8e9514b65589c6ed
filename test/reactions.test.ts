// Issue 22, reactions, over the wire: PUT and DELETE /api/v1/messages/<id>/reactions/<emoji>,
// the `reaction` event live and on resume, history's counts, and users who try to react to
// what they cannot see, to send something that is not an emoji, or to flood a message.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_REACTION_EMOJI } from '../src/domain/reactions.js';
import type { RunningServer } from '../src/main.js';
import { Actors } from './actors.js';
import { NO_LIMITS, startTestServer } from './helpers.js';

/** The path of a reaction, the emoji percent-encoded. */
const path = (id: number | string, emoji: string): string =>
  `/messages/${id}/reactions/${encodeURIComponent(emoji)}`;

/** Twenty-one distinct emoji, one more than MAX_REACTION_EMOJI. */
const EMOJI = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂🤗'];

describe('reactions over the wire', () => {
  let server: RunningServer;
  const actors = new Actors();
  const { call, say, stream } = actors;
  const react = async (nick: string, id: number, emoji: string, on = true) => {
    const reply = await call(nick, on ? 'PUT' : 'DELETE', path(id, emoji));
    assert.equal(reply.status, 200, reply.body);
    return reply.json;
  };

  before(async () => {
    server = await startTestServer({ ...NO_LIMITS });
    actors.base = server.url;
  });
  after(async () => {
    actors.closeStreams();
    await server.close();
  });

  test('a reaction to a DM reaches both parties live, once, and PUT is idempotent', async () => {
    const ann = await stream('ann');
    const bob = await stream('bob');
    const id = await say('ann', 'bob', 'lunch?');
    await bob.waitFor((s) => s.of('message').some((m) => m.id === id));
    const first = await react('bob', id, '👍');
    assert.deepEqual(first, {
      message: id,
      reactions: [{ emoji: '👍', count: 1, users: ['bob'] }],
    });
    assert.deepEqual(await react('bob', id, '👍'), first, 'a second PUT changes nothing');
    await ann.waitFor((s) => s.of('reaction').length > 0);
    await bob.waitFor((s) => s.of('reaction').length > 0);
    const [event] = ann.of('reaction');
    assert.deepEqual(
      { ...event, id: 0, ts: 0 },
      { id: 0, message: id, from: 'bob', to: 'ann', emoji: '👍', on: true, ts: 0 },
    );
    const frame = ann.events.find((e) => e.type === 'reaction');
    assert.equal(frame?.id, String(event.id), 'a reaction carries its id: line');
    // Taking it back: one event with on: false, and a second DELETE changes nothing.
    assert.deepEqual(await react('bob', id, '👍', false), { message: id, reactions: [] });
    assert.deepEqual(await react('bob', id, '👍', false), { message: id, reactions: [] });
    await ann.waitFor((s) => s.of('reaction').length === 2);
    await say('ann', 'bob', 'barrier');
    await ann.waitFor((s) => s.of('message').some((m) => m.text === 'barrier'));
    assert.deepEqual(
      ann.of('reaction').map((r) => r.on),
      [true, false],
    );
    assert.equal(bob.of('reaction').length, 2);
    ann.close();
    bob.close();
  });

  test('a stream that resumes across a reaction gets it exactly once', async () => {
    const dee = await stream('dee');
    const id = await say('cid', 'dee', 'resume me');
    await dee.waitFor((s) => s.of('message').some((m) => m.id === id));
    const last = dee.events.find((e) => e.type === 'message')?.id;
    assert.equal(last, String(id));
    dee.close();
    await react('cid', id, '🎉');
    const again = await stream('dee', last);
    await say('cid', 'dee', 'after');
    await again.waitFor((s) => s.of('message').some((m) => m.text === 'after'));
    assert.deepEqual(
      again.of('reaction').map((r) => [r.message, r.from, r.emoji]),
      [[id, 'cid', '🎉']],
    );
    const reactionId = again.events.find((e) => e.type === 'reaction')?.id;
    assert.ok(reactionId);
    again.close();
    // From the reaction's own id, it is not sent again.
    const third = await stream('dee', reactionId);
    await say('cid', 'dee', 'later');
    await third.waitFor((s) => s.of('message').some((m) => m.text === 'later'));
    assert.deepEqual(third.of('reaction'), []);
    third.close();
  });

  test('nobody reacts to, or hears of reactions to, what they cannot see: 404 as a missing id', async () => {
    const dm = await say('eli', 'fay', 'between us');
    const eve = await stream('gus');
    const missing = await call('gus', 'PUT', path(9_999_999, '👍'));
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'CHAT_MESSAGE_NOT_FOUND');
    const hidden = await call('gus', 'PUT', path(dm, '👍'));
    assert.equal(hidden.status, 404);
    assert.deepEqual(hidden.json, missing.json, 'the same answer as for no such message');
    assert.equal((await call('gus', 'DELETE', path(dm, '👍'))).status, 404);
    assert.equal((await call('gus', 'PUT', path('abc', '👍'))).status, 404);

    // A room the user is not in.
    assert.equal((await call('eli', 'POST', '/rooms', { name: '#quiet' })).status, 201);
    const inRoom = await say('eli', '#quiet', 'members only');
    const outsider = await call('gus', 'PUT', path(inRoom, '👍'));
    assert.equal(outsider.status, 404);
    assert.deepEqual(outsider.json, missing.json);

    // Reactions by the parties never reach a third user's stream.
    await react('fay', dm, '❤️');
    await react('eli', inRoom, '❤️');
    await say('eli', 'all', 'barrier for gus');
    await eve.waitFor((s) => s.of('message').some((m) => m.text === 'barrier for gus'));
    assert.deepEqual(eve.of('reaction'), []);
    eve.close();

    // A deleted message takes no reaction, and its history shows none.
    const gone = await say('eli', 'all', 'soon deleted');
    await react('fay', gone, '👍');
    assert.equal((await call('eli', 'DELETE', `/messages/${gone}`)).status, 200);
    assert.equal((await call('fay', 'PUT', path(gone, '👍'))).status, 404);
    const page = await call('fay', 'GET', '/messages?with=all');
    const shown = page.json.messages.find((m: { id: number }) => m.id === gone);
    assert.ok(shown.deleted && !('reactions' in shown));
  });

  test('anything but one emoji is refused with 400, before it is stored', async () => {
    const id = await say('hal', 'all', 'emoji only');
    const raw = ['a', '%F0%9F%98%80%F0%9F%98%80', 'x'.repeat(200), '%00', '%3Cimg%3E', '%20'];
    raw.push(encodeURIComponent('😀'.repeat(40)), '%F0%9F%98%80%0A', 'javascript%3A');
    for (const emoji of raw) {
      const reply = await call('hal', 'PUT', `/messages/${id}/reactions/${emoji}`);
      assert.equal(reply.status, 400, emoji);
      assert.equal(reply.json.error.code, 'CHAT_REACTION_INVALID', emoji);
    }
    // A malformed encoding names nothing.
    assert.equal((await call('hal', 'PUT', `/messages/${id}/reactions/%F0%9F`)).status, 404);
    const page = await call('hal', 'GET', '/messages?with=all');
    const shown = page.json.messages.find((m: { id: number }) => m.id === id);
    assert.ok(!('reactions' in shown));
  });

  test(`a message takes at most ${MAX_REACTION_EMOJI} distinct emoji (409 past them)`, async () => {
    const id = await say('ida', 'all', 'flood me');
    for (const emoji of EMOJI.slice(0, MAX_REACTION_EMOJI)) await react('jon', id, emoji);
    const full = await call('kim', 'PUT', path(id, EMOJI[MAX_REACTION_EMOJI] as string));
    assert.equal(full.status, 409);
    assert.equal(full.json.error.code, 'CHAT_REACTIONS_FULL');
    // One of those still counts another user.
    const same = await react('kim', id, EMOJI[0] as string);
    assert.equal(same.reactions.length, MAX_REACTION_EMOJI);
    assert.deepEqual(same.reactions[0], { emoji: EMOJI[0], count: 2, users: ['jon', 'kim'] });
  });

  test('history carries each message’s counts and who, in order of first reaction', async () => {
    assert.equal((await call('lea', 'POST', '/rooms', { name: '#votes' })).status, 201);
    for (const nick of ['max', 'ned']) {
      assert.equal((await call(nick, 'POST', '/rooms/votes/join', {})).status, 201);
    }
    const id = await say('lea', '#votes', 'pizza or tacos');
    await react('max', id, '🍕');
    await react('ned', id, '🌮');
    await react('lea', id, '🍕');
    const expected = [
      { emoji: '🍕', count: 2, users: ['max', 'lea'] },
      { emoji: '🌮', count: 1, users: ['ned'] },
    ];
    const page = await call('ned', 'GET', '/messages?with=%23votes');
    assert.deepEqual(page.json.messages.at(-1).reactions, expected);
    const around = await call('ned', 'GET', `/messages?with=%23votes&around=${id}`);
    const found = around.json.messages.find((m: { id: number }) => m.id === id);
    assert.deepEqual(found.reactions, expected);
  });
});

describe('reactions and the send limit', () => {
  let server: RunningServer;
  const actors = new Actors();
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, sendLimitUser: { rate: 0.01, burst: 3 } });
    actors.base = server.url;
  });
  after(async () => {
    await server.close();
  });

  test('each reaction request counts as a send', async () => {
    const id = await actors.say('oz', 'all', 'one');
    const statuses: number[] = [];
    for (const emoji of ['👍', '🎉', '❤️']) {
      statuses.push((await actors.call('oz', 'PUT', path(id, emoji))).status);
    }
    assert.deepEqual(statuses, [200, 200, 429]);
  });
});
