import type pg from 'pg';
import { decodeVapidKeys, encodeVapidKeys, SUBSCRIPTION, VAPID_SECRET } from '../push-rows.js';
import {
  MAX_PUSH_SUBSCRIPTIONS_PER_USER,
  type PushStore,
  type PushSubscriptionRecord,
  type VapidKeys,
} from '../push-store.js';
import { inTransaction } from './client.js';
import { LOCK } from './schema.js';

/** A row of push_subscriptions as pg returns it: BIGINT comes as text. */
type SubscriptionRow = Omit<PushSubscriptionRecord, 'created'> & { created: string };

/** The PushStore of PostgresStore: push_subscriptions, user_settings and secrets. */
export class PostgresPush implements PushStore {
  /**
   * Queries through `pool`, whose connections already use the store's schema; `lockKey` is the
   * schema's advisory-lock key (schemaKey in schema.ts).
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly lockKey: number,
  ) {}

  async vapidKeys(generate: () => VapidKeys): Promise<VapidKeys> {
    return decodeVapidKeys(await this.secret(VAPID_SECRET, () => encodeVapidKeys(generate())));
  }

  async secret(key: string, generate: () => string): Promise<string> {
    const stored = await this.stored(key);
    if (stored !== undefined) return stored;
    // DO NOTHING: of nodes starting at once, the first insert wins and every node (this one
    // included) reads that value back; a concurrent insert waits for the first one's commit.
    await this.pool.query(
      'INSERT INTO secrets (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [key, generate()],
    );
    const value = await this.stored(key);
    if (value === undefined) throw new Error(`the secret ${key} was not stored`);
    return value;
  }

  async subscribe(sub: PushSubscriptionRecord): Promise<void> {
    // Under the push lock, two subscribes of one user (on two nodes) cannot both count the
    // rows before either trims: the cap holds exactly. Subscribing is rare; one lock per
    // schema is enough.
    await inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK.push, this.lockKey]);
      await client.query(
        `INSERT INTO push_subscriptions (${SUBSCRIPTION}) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
           nick = excluded.nick, session = excluded.session, created = excluded.created`,
        [sub.endpoint, sub.p256dh, sub.auth, sub.nick, sub.session, sub.created],
      );
      // Beyond the cap, the oldest go (ties by endpoint, so the choice is stable).
      await client.query(
        `DELETE FROM push_subscriptions WHERE endpoint IN (
           SELECT endpoint FROM push_subscriptions WHERE nick = $1
            ORDER BY created DESC, endpoint DESC OFFSET $2)`,
        [sub.nick, MAX_PUSH_SUBSCRIPTIONS_PER_USER],
      );
    });
  }

  async unsubscribe(nick: string, endpoint: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM push_subscriptions WHERE nick = $1 AND endpoint = $2',
      [nick, endpoint],
    );
    return (rowCount ?? 0) > 0;
  }

  async dropSession(session: string): Promise<number> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM push_subscriptions WHERE session = $1',
      [session],
    );
    return rowCount ?? 0;
  }

  async dropEndpoint(endpoint: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM push_subscriptions WHERE endpoint = $1',
      [endpoint],
    );
    return (rowCount ?? 0) > 0;
  }

  async subscriptions(nicks: readonly string[]): Promise<PushSubscriptionRecord[]> {
    if (nicks.length === 0) return [];
    // One round trip, not one a nick: an event to a room asks about its members at once.
    const { rows } = await this.pool.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION} FROM push_subscriptions WHERE nick = ANY($1::text[])
        ORDER BY nick, created, endpoint`,
      [nicks],
    );
    return rows.map((r) => ({ ...r, created: Number(r.created) }));
  }

  async anySubscriptions(): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM push_subscriptions LIMIT 1');
    return rows.length > 0;
  }

  async hideText(nick: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ hide_text: boolean }>(
      'SELECT hide_text FROM user_settings WHERE nick = $1',
      [nick],
    );
    return rows[0]?.hide_text === true;
  }

  async setHideText(nick: string, hide: boolean): Promise<void> {
    await this.pool.query(
      `INSERT INTO user_settings (nick, hide_text) VALUES ($1, $2)
       ON CONFLICT (nick) DO UPDATE SET hide_text = excluded.hide_text`,
      [nick, hide],
    );
  }

  /** The secret stored under `key`, if any. */
  private async stored(key: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ value: string }>(
      'SELECT value FROM secrets WHERE key = $1',
      [key],
    );
    return rows[0]?.value;
  }
}
