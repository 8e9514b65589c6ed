import type pg from 'pg';
import { ChatError } from '../../domain/errors.js';
import {
  type NewDelete,
  type NewEdit,
  type NewMemberChange,
  type Role,
  type StoredDelete,
  type StoredEdit,
  type StoredMemberChange,
  storedEdit,
} from '../../domain/events.js';
import {
  decideMembership,
  MAX_ROOMS_CREATED_PER_HOUR,
  type MembershipOutcome,
  WITHDRAWN,
} from '../../domain/room-rules.js';
import { insertAudit } from './audit.js';
import { mentionsColumn, resolveMentions } from './mentions.js';
import { searchVector } from './search.js';
import { dropUploads } from './uploads.js';
import { blocks, WITHHELD_PAIR } from './withheld.js';

// The writes of this file run inside an append batch's transaction, which holds the append
// lock (store.ts): no other writer, on any node, runs between a decision and its
// write, so changes of one room are decided one at a time across nodes. Each draws its id from
// messages_id_seq only when it writes, so a change the rules refuse leaves no hole.

/** The row of STATE: what decideMembership needs. */
interface StateRow {
  visibility: 'public' | 'private' | null;
  history: 'joined' | 'all' | null;
  members: number | null;
  user_role: Role | null;
  by_role: Role | null;
  invited: boolean;
  user_rooms: number;
  user_invites: number;
  owners: number;
  creates: number[];
  oldest_room: string | null;
  oldest_by: string | null;
  oldest_members: number | null;
}

// One row even when there is no such room (the LEFT JOIN leaves its columns NULL).
const STATE: pg.QueryConfig = {
  name: 'ssechat_member_state',
  text: `
  SELECT r.visibility, r.history, r.members,
         (SELECT role FROM members WHERE room = $1 AND nick = $2) AS user_role,
         (SELECT role FROM members WHERE room = $1 AND nick = $3) AS by_role,
         EXISTS (SELECT 1 FROM invites WHERE room = $1 AND nick = $2) AS invited,
         (SELECT count(*)::int FROM members WHERE nick = $2) AS user_rooms,
         (SELECT count(*)::int FROM invites WHERE nick = $2) AS user_invites,
         (SELECT count(*)::int FROM members WHERE room = $1 AND role = 'owner') AS owners,
         ARRAY(SELECT ts::float8 FROM messages
                WHERE sender = $2 AND kind = 'member' AND action = 'create'
                ORDER BY id DESC LIMIT ${MAX_ROOMS_CREATED_PER_HOUR}) AS creates,
         o.room AS oldest_room, o.inviter AS oldest_by, o.members AS oldest_members
    FROM (SELECT 1) one LEFT JOIN rooms r ON r.name = $1
    LEFT JOIN LATERAL (
      SELECT i.room, coalesce(i.invited_by, i.nick) AS inviter, ro.members
        FROM invites i JOIN rooms ro ON ro.name = i.room
       WHERE i.nick = $2 ORDER BY i.invited_id LIMIT 1) o ON true`,
};

// Logs a decided change and writes its outcome, in one statement. The sub-statements see the
// same snapshot and touch different rows; the foreign keys of members and spans are checked at
// its end, when a room it creates exists. Parameters: $1 ts, $2 room, $3 user, $4 by,
// $5 action, $6 role afterwards (NULL: not a member), $7 quiet, $8 invited afterwards,
// $9 create, $10 visibility, $11 history, $12 member count afterwards, $13 whether the user
// was a member before, $14 the text: a removal's reason (NewMemberChange.reason), '' for
// none. An invitation (or its withdrawal) of a non-member by someone they
// block is withheld from them (blocks-store.ts). A room it creates begins its life (created_id) at the change's id;
// an invitation records who gave it ($4).
const WRITE_MEMBER: pg.QueryConfig = {
  name: 'ssechat_member_write',
  text: `
  WITH logged AS (
    INSERT INTO messages (id, kind, ts, sender, recipient, text, actor, action, role, quiet,
                          withheld)
    VALUES (nextval('messages_id_seq'), 'member', $1, $3, $2, $14, $4, $5, $6, $7,
            NOT $13 AND $6::text IS NULL AND $3 <> $4 AND ${blocks('$3', '$4')})
    RETURNING id, withheld
  ), made AS (
    INSERT INTO rooms (name, visibility, history, created_by, created, members, created_id)
    SELECT $2, $10, $11, $3, $1, $12, id FROM logged WHERE $9
  ), counted AS (
    UPDATE rooms SET members = $12 WHERE name = $2 AND NOT $9 AND members <> $12
  ), gone AS (
    DELETE FROM members WHERE room = $2 AND nick = $3 AND $6::text IS NULL
  ), kept AS (
    INSERT INTO members (room, nick, role, since)
    SELECT $2, $3, $6, id FROM logged WHERE $6::text IS NOT NULL
    ON CONFLICT (room, nick) DO UPDATE SET role = excluded.role
  ), invited AS (
    INSERT INTO invites (room, nick, invited_by, invited_id)
    SELECT $2, $3, $4, id FROM logged WHERE $8 ON CONFLICT DO NOTHING
  ), uninvited AS (
    DELETE FROM invites WHERE room = $2 AND nick = $3 AND NOT $8
  ), opened AS (
    INSERT INTO spans (nick, room, from_id)
    SELECT $3, $2, id FROM logged WHERE $6::text IS NOT NULL AND NOT $13
  ), closed AS (
    UPDATE spans SET to_id = (SELECT id FROM logged)
     WHERE nick = $3 AND room = $2 AND to_id IS NULL AND $6::text IS NULL AND $13
  )
  SELECT id, withheld FROM logged`,
};

// The invitations a change withdraws (store.ts): those its user ($2) gave, or all ($3) when
// it closes the room.
const WITHDRAWN_INVITES: pg.QueryConfig = {
  name: 'ssechat_member_withdrawn',
  text: `SELECT nick FROM invites WHERE room = $1 AND (invited_by = $2 OR $3)
          ORDER BY nick COLLATE "C"`,
};

// A room closes when its last member leaves: nothing refers to it any more (its invitations
// were withdrawn first; spans do not reference rooms).
const CLOSE_ROOM: pg.QueryConfig = {
  name: 'ssechat_room_close',
  text: 'DELETE FROM rooms WHERE name = $1 AND members = 0',
};

const DROP_ROOM_FILES: pg.QueryConfig = {
  name: 'ssechat_room_files',
  text: dropUploads(
    "message_id IN (SELECT id FROM messages WHERE recipient = $2 AND kind = 'message')",
  ),
};

/**
 * A room's message is a target (of an edit, a delete, a reaction) only in the room's current
 * life (store.ts).
 */
export const CURRENT = `(recipient NOT LIKE '#%' OR EXISTS (
  SELECT 1 FROM rooms r WHERE r.name = messages.recipient AND r.created_id <= messages.id))`;

// The target must be a stored, undeleted message; without one, nothing is written and no id
// is drawn (nextval runs once per row of target). $6: the new text's mentions (the target's
// and the edit's column), $7: those the target lacked (the edit's added), $8: the same as an
// array, each notified (mention_rows); $9: the new text's search vector (search.ts), so that
// the message is found by its new text only. An edit from a user its recipient blocks marks
// the message withheld too: its new text is new words from them (blocks-store.ts).
const EDIT: pg.QueryConfig = {
  name: 'ssechat_edit',
  text: `
  WITH target AS (
    UPDATE messages SET text = $4, edited = $1, mentions = $6, search = $9::tsvector,
           withheld = withheld OR ${WITHHELD_PAIR('$2', '$3')}
     WHERE id = $5 AND kind = 'message' AND NOT deleted AND ${CURRENT} RETURNING id, withheld
  ), logged AS (
    INSERT INTO messages (id, kind, ts, sender, recipient, text, up_to, mentions, added,
                          withheld)
    SELECT nextval('messages_id_seq'), 'edit', $1, $2, $3, $4, id, $6, $7, withheld
      FROM target
    RETURNING id, withheld
  ), noted AS (
    INSERT INTO mention_rows (nick, event_id, target, recipient)
    SELECT n.nick, l.id, $5, $3 FROM logged l CROSS JOIN unnest($8::text[]) AS n (nick)
  )
  SELECT id, withheld FROM logged`,
};

const MENTIONS: pg.QueryConfig = {
  name: 'ssechat_edit_mentions',
  text: 'SELECT mentions FROM messages WHERE id = $1',
};

// Empties the target and every edit of it, so that no trace of the text stays in the log
// (its mentions come from the text; mention_rows stay, and unread counts skip deleted ones),
// nor in the search index.
const DELETE: pg.QueryConfig = {
  name: 'ssechat_delete',
  text: `
  WITH target AS (
    UPDATE messages SET text = '', deleted = true, mentions = NULL, attachments = NULL,
                        search = NULL
     WHERE id = $4 AND kind = 'message' AND NOT deleted AND ${CURRENT} RETURNING id, withheld
  ), edits AS (
    UPDATE messages SET text = '', mentions = NULL, added = NULL
     WHERE kind = 'edit' AND up_to = $4 AND text <> '' AND EXISTS (SELECT 1 FROM target)
  ), reactions AS (
    DELETE FROM reactions WHERE message_id = $4 AND EXISTS (SELECT 1 FROM target)
  ), files AS (
    -- Its files go with it; their blobs to the trash (uploads.ts).
    DELETE FROM uploads WHERE message_id = $4 AND EXISTS (SELECT 1 FROM target)
    RETURNING blob, thumb
  ), trashed AS (
    INSERT INTO blob_trash (key, since)
    SELECT DISTINCT k.key, $1::int8 FROM files, LATERAL (VALUES (blob), (thumb)) AS k (key)
     WHERE k.key IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET since = greatest(blob_trash.since, excluded.since)
  )
  INSERT INTO messages (id, kind, ts, sender, recipient, text, up_to, withheld)
  SELECT nextval('messages_id_seq'), 'delete', $1, $2, $3, '', id,
         withheld OR ${WITHHELD_PAIR('$2', '$3')} FROM target
  RETURNING id, withheld`,
};

/**
 * Decides `change` against the room's state (room-rules.ts) and writes it, after the
 * invitations it withdraws (store.ts): the changes logged, none when it changes nothing, a
 * ChatError thrown when the rules forbid it, and nothing written either way.
 */
export async function writeMember(
  client: pg.ClientBase,
  change: NewMemberChange,
): Promise<StoredMemberChange[]> {
  const { room, user, by } = change;
  const { rows } = await client.query<StateRow>({ ...STATE, values: [room, user, by] });
  const state = rows[0] as StateRow;
  const outcome = decideMembership(change, {
    room:
      state.visibility && state.history
        ? { visibility: state.visibility, history: state.history }
        : undefined,
    userRole: state.user_role,
    byRole: state.by_role,
    invited: state.invited,
    members: state.members ?? 0,
    userRooms: state.user_rooms,
    userInvites: state.user_invites,
    oldestInvite:
      state.oldest_room !== null && state.oldest_by !== null
        ? { room: state.oldest_room, by: state.oldest_by }
        : null,
    owners: state.owners,
    recentCreates: state.creates.map(Number),
  });
  if (!outcome) return [];
  const logged: StoredMemberChange[] = [];
  const before = state.members ?? 0;
  if (outcome.lapses || outcome.closes) {
    const { rows: invitees } = await client.query<{ nick: string }>({
      ...WITHDRAWN_INVITES,
      values: [room, user, outcome.closes],
    });
    for (const { nick } of invitees) {
      const withdrawal = { ...change, action: 'remove' as const, user: nick, by: user };
      logged.push(await write(client, withdrawal, WITHDRAWN, false, before, ''));
    }
  }
  if (outcome.replaces) {
    // The replaced invitation is in another room: its member count stays what it is.
    const replaced = { ...change, ...outcome.replaces, action: 'remove' as const };
    logged.push(await write(client, replaced, WITHDRAWN, false, state.oldest_members ?? 0, ''));
  }
  const was = state.user_role !== null;
  const members = before + (outcome.role !== null ? 1 : 0) - (was ? 1 : 0);
  logged.push(await write(client, change, outcome, was, members, change.reason ?? ''));
  if (change.audit) await insertAudit(client, change.audit);
  if (outcome.closes) {
    await client.query({ ...CLOSE_ROOM, values: [room] });
    // Its files: nobody can see its messages any more (sqlite/uploads.ts, dropRoomFiles).
    await client.query({ ...DROP_ROOM_FILES, values: [change.ts, room] });
  }
  return logged;
}

/**
 * Logs a decided change and writes its outcome; `was`: the user was a member before, `reason`
 * the change's own (NewMemberChange.reason: not the withdrawals').
 */
async function write(
  client: pg.ClientBase,
  change: NewMemberChange,
  outcome: MembershipOutcome,
  was: boolean,
  members: number,
  reason: string,
): Promise<StoredMemberChange> {
  const { room, user, by, action, ts } = change;
  const { role, quiet, invited, create } = outcome;
  const settings = change.settings ?? { visibility: 'public', history: 'joined' };
  const [id, held] = await idAndWithheld(client, WRITE_MEMBER, [
    ts,
    room,
    user,
    by,
    action,
    role,
    quiet,
    invited,
    create,
    settings.visibility,
    settings.history,
    members,
    was,
    reason,
  ]);
  const hidden = held ? { withheld: true as const } : {};
  const why = reason !== '' ? { reason } : {};
  return { id: id as number, room, user, by, action, ts, role, quiet, ...why, ...hidden };
}

/**
 * Applies and logs an edit, with the new text's mentions resolved now (only those the target
 * lacked are notified); throws CHAT_MESSAGE_NOT_FOUND, writing nothing, without a target.
 */
export async function writeEdit(client: pg.ClientBase, edit: NewEdit): Promise<StoredEdit> {
  const { target, from, to, text, ts } = edit;
  const item = { text, from, to, claimed: edit.claimed === true, target };
  const [mentions = []] = await resolveMentions(client, [item]);
  let added: string[] = [];
  if (mentions.length > 0) {
    const { rows } = await client.query<{ mentions: string | null }>({
      ...MENTIONS,
      values: [target],
    });
    const before = rows[0]?.mentions?.split(' ') ?? [];
    added = mentions.filter((nick) => !before.includes(nick));
  }
  const [id, held] = await idAndWithheld(client, EDIT, [
    ts,
    from,
    to,
    text,
    target,
    mentionsColumn(mentions),
    mentionsColumn(added),
    added,
    searchVector(text),
  ]);
  if (id === undefined) throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
  const stored = storedEdit(edit, id, mentions, added);
  return held ? { ...stored, withheld: true } : stored;
}

/** Applies and logs a delete; throws CHAT_MESSAGE_NOT_FOUND, writing nothing, without a target. */
export async function writeDelete(client: pg.ClientBase, del: NewDelete): Promise<StoredDelete> {
  const { target, from, to, ts } = del;
  const [id, held] = await idAndWithheld(client, DELETE, [ts, from, to, target]);
  if (id === undefined) throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
  if (del.audit) await insertAudit(client, del.audit);
  return { id, target, from, to, ts, ...(held && { withheld: true as const }) };
}

/** The id and the withheld flag a statement returned; the id undefined when no row. */
async function idAndWithheld(
  client: pg.ClientBase,
  query: pg.QueryConfig,
  values: unknown[],
): Promise<[number | undefined, boolean]> {
  const { rows } = await client.query<{ id: number; withheld: boolean }>({ ...query, values });
  return [rows[0]?.id, rows[0]?.withheld === true];
}
