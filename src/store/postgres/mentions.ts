import type pg from 'pg';
import { EVERYONE, type EventId, isRoom } from '../../domain/events.js';
import {
  claimedMentions,
  findMentions,
  foldNick,
  type MentionCandidates,
  pickMentions,
} from '../../domain/mentions.js';

/** A text to resolve, and who sent it where (see SqliteMentions in sqlite/mentions.ts). */
export interface MentionItem {
  readonly text: string;
  readonly from: string;
  readonly to: string;
  /** NewMessage.claimed: open mode. */
  readonly claimed: boolean;
  /**
   * For an edit, its target: only those who saw the target see the edit (a room's members
   * whose span began at or before it; a DM's recipient registered before it).
   */
  readonly target?: EventId;
}

// Each (scope, key, target) pair: the members of room `scope` whose folded nick is `key`
// (members_folded), since `target` or earlier when it is set; or, for scope `all`, the
// account (users_nick_folded). lower(… COLLATE "C") folds ASCII only, as foldNick does.
// $4: each key's sender: a user who blocks the sender is not mentioned (blocks-store.ts).
const LOOKUP: pg.QueryConfig = {
  name: 'ssechat_mentions',
  text: `
  SELECT k.scope, k.key, m.nick
    FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[]) AS k (scope, key, target, sender)
    JOIN members m ON m.room = k.scope AND lower(m.nick COLLATE "C") = k.key
     AND (k.target IS NULL OR m.since <= k.target)
   WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker = m.nick AND b.blocked = k.sender)
  UNION ALL
  SELECT k.scope, k.key, u.nick FROM unnest($1::text[], $2::text[], $4::text[]) AS k (scope, key, sender)
    JOIN users u ON lower(u.nick COLLATE "C") = k.key
   WHERE k.scope = '${EVERYONE}'
     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker = u.nick AND b.blocked = k.sender)`,
};

// A DM's recipient is not mentioned by a sender they block.
const BLOCKED: pg.QueryConfig = {
  name: 'ssechat_mentions_blocked',
  text: 'SELECT 1 FROM blocks WHERE blocker = $1 AND blocked = $2',
};

const REGISTERED: pg.QueryConfig = {
  name: 'ssechat_mentions_registered',
  text: 'SELECT registered FROM users WHERE nick = $1',
};

/**
 * Who each item's text mentions among those who see it (domain/mentions.ts), inside the
 * caller's transaction, which holds the append lock: the members and accounts read cannot
 * change before the write. One round trip for all of them, none when no text needs one.
 */
export async function resolveMentions(
  client: pg.ClientBase,
  items: readonly MentionItem[],
): Promise<string[][]> {
  const found = items.map((item) => findMentions(item.text));
  const scopes: string[] = [];
  const keys: string[] = [];
  const targets: Array<EventId | null> = [];
  const senders: string[] = [];
  items.forEach((item, i) => {
    const { to, claimed, target } = item;
    if ((to === EVERYONE && !claimed) || isRoom(to)) {
      for (const key of (found[i] as MentionCandidates).keys) {
        scopes.push(to);
        keys.push(key);
        targets.push(target ?? null);
        senders.push(item.from);
      }
    }
  });
  const nicks = new Map<string, string[]>();
  if (scopes.length > 0) {
    const { rows } = await client.query<{ scope: string; key: string; nick: string }>({
      ...LOOKUP,
      values: [scopes, keys, targets, senders],
    });
    for (const { scope, key, nick } of rows) {
      const at = `${scope}\u0000${key}`;
      const list = nicks.get(at);
      if (list) list.push(nick);
      else nicks.set(at, [nick]);
    }
    // Two members whose nicks differ only in ASCII case (open mode) are both named, in order.
    for (const list of nicks.values()) list.sort();
  }
  const resolved: string[][] = [];
  for (const [i, item] of items.entries()) {
    const { from, to, target } = item;
    const candidates = found[i] as MentionCandidates;
    if (candidates.runs.length === 0) resolved.push([]);
    else if (to === EVERYONE && item.claimed) resolved.push(claimedMentions(candidates, from));
    else if (to === EVERYONE || isRoom(to)) {
      resolved.push(pickMentions(candidates, (key) => nicks.get(`${to}\u0000${key}`), from));
    } else {
      // A DM: its two parties; the sender is left out by pickMentions.
      const peer = foldNick(to);
      let picked = pickMentions(candidates, (key) => (key === peer ? [to] : undefined), from);
      if (picked.length > 0) {
        const { rows } = await client.query({ ...BLOCKED, values: [to, from] });
        if (rows.length > 0) picked = [];
      }
      // An edit of a DM sent before the recipient registered is not theirs (store.ts).
      if (picked.length > 0 && target !== undefined) {
        const { rows } = await client.query<{ registered: number }>({
          ...REGISTERED,
          values: [to],
        });
        resolved.push(target <= (rows[0]?.registered ?? 0) ? [] : picked);
      } else resolved.push(picked);
    }
  }
  return resolved;
}

/** The mentions column's value: space-separated (nicks hold no spaces), NULL for none. */
export function mentionsColumn(nicks: readonly string[]): string | null {
  return nicks.length === 0 ? null : nicks.join(' ');
}
