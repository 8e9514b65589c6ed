import type Database from 'better-sqlite3';
import { decodeVapidKeys, encodeVapidKeys, SUBSCRIPTION, VAPID_SECRET } from '../push-rows.js';
import {
  MAX_PUSH_SUBSCRIPTIONS_PER_USER,
  type PushStore,
  type PushSubscriptionRecord,
  type VapidKeys,
} from '../push-store.js';

/** The PushStore of SqliteStore: push_subscriptions, user_settings and secrets. */
export class SqlitePush implements PushStore {
  private readonly selectSecret: Database.Statement<[string], { value: string }>;
  private readonly insertSecret: Database.Statement<[string, string]>;
  private readonly subscribeTx: (sub: PushSubscriptionRecord) => void;
  private readonly deleteOwn: Database.Statement<[string, string]>;
  private readonly deleteSession: Database.Statement<[string]>;
  private readonly deleteEndpoint: Database.Statement<[string]>;
  private readonly selectOf: Database.Statement<[string], PushSubscriptionRecord>;
  private readonly selectHide: Database.Statement<[string], { hide_text: number }>;
  private readonly upsertHide: Database.Statement<[string, number]>;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(private readonly db: Database.Database) {
    this.selectSecret = db.prepare('SELECT value FROM secrets WHERE key = ?');
    // DO NOTHING: the first pair stored wins, also against another process sharing the file.
    this.insertSecret = db.prepare(
      'INSERT INTO secrets (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING',
    );
    const upsert = db.prepare(
      `INSERT INTO push_subscriptions (${SUBSCRIPTION})
       VALUES (@endpoint, @p256dh, @auth, @nick, @session, @created)
       ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
         nick = excluded.nick, session = excluded.session, created = excluded.created`,
    );
    // Beyond the cap, the oldest go (ties by endpoint, so the choice is stable).
    const trim = db.prepare(
      `DELETE FROM push_subscriptions WHERE endpoint IN (
         SELECT endpoint FROM push_subscriptions WHERE nick = ?
          ORDER BY created DESC, endpoint DESC LIMIT -1 OFFSET ?)`,
    );
    // IMMEDIATE: another process's subscribe for the same user cannot slip between the
    // insert and the trim, so the cap holds exactly.
    const subscribe = db.transaction((sub: PushSubscriptionRecord) => {
      upsert.run(sub);
      trim.run(sub.nick, MAX_PUSH_SUBSCRIPTIONS_PER_USER);
    });
    this.subscribeTx = (sub) => subscribe.immediate(sub);
    this.deleteOwn = db.prepare('DELETE FROM push_subscriptions WHERE nick = ? AND endpoint = ?');
    this.deleteSession = db.prepare('DELETE FROM push_subscriptions WHERE session = ?');
    this.deleteEndpoint = db.prepare('DELETE FROM push_subscriptions WHERE endpoint = ?');
    this.selectOf = db.prepare(
      `SELECT ${SUBSCRIPTION} FROM push_subscriptions WHERE nick = ? ORDER BY created, endpoint`,
    );
    this.selectHide = db.prepare('SELECT hide_text FROM user_settings WHERE nick = ?');
    this.upsertHide = db.prepare(
      `INSERT INTO user_settings (nick, hide_text) VALUES (?, ?)
       ON CONFLICT (nick) DO UPDATE SET hide_text = excluded.hide_text`,
    );
  }

  async vapidKeys(generate: () => VapidKeys): Promise<VapidKeys> {
    return decodeVapidKeys(await this.secret(VAPID_SECRET, () => encodeVapidKeys(generate())));
  }

  async secret(key: string, generate: () => string): Promise<string> {
    const stored = this.selectSecret.get(key);
    if (stored) return stored.value;
    this.insertSecret.run(key, generate());
    // Whichever process inserted first, this reads its value.
    return (this.selectSecret.get(key) as { value: string }).value;
  }

  async subscribe(sub: PushSubscriptionRecord): Promise<void> {
    const { endpoint, p256dh, auth, nick, session, created } = sub;
    this.subscribeTx({ endpoint, p256dh, auth, nick, session, created });
  }

  async unsubscribe(nick: string, endpoint: string): Promise<boolean> {
    return this.deleteOwn.run(nick, endpoint).changes > 0;
  }

  async dropSession(session: string): Promise<number> {
    return this.deleteSession.run(session).changes;
  }

  async dropEndpoint(endpoint: string): Promise<boolean> {
    return this.deleteEndpoint.run(endpoint).changes > 0;
  }

  async subscriptions(nicks: readonly string[]): Promise<PushSubscriptionRecord[]> {
    // In-process lookups on an index: a loop costs microseconds a nick.
    const out: PushSubscriptionRecord[] = [];
    for (const nick of new Set(nicks)) out.push(...this.selectOf.all(nick));
    return out;
  }

  async anySubscriptions(): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM push_subscriptions LIMIT 1').get() !== undefined;
  }

  async hideText(nick: string): Promise<boolean> {
    return (this.selectHide.get(nick)?.hide_text ?? 0) === 1;
  }

  async setHideText(nick: string, hide: boolean): Promise<void> {
    this.upsertHide.run(nick, hide ? 1 : 0);
  }
}
