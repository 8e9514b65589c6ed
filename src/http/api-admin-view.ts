import type { IncomingMessage } from 'node:http';
import type { ChatService } from '../core/chat.js';
import type { Profiles } from '../core/profiles.js';
import type { MessageRate } from '../ops/message-rate.js';
import type { Readiness } from '../ops/readiness.js';
import type { Stats } from '../ops/stats.js';
import type { RosterStore, SanctionView } from '../store/roster-store.js';
import { directoryQuery } from './api-profiles.js';
import type { Identity } from './auth.js';
import { sendJson } from './reply.js';
import type { Handler } from './router.js';

/** What the admins' views need. */
export interface ApiAdminViewDeps {
  /** The admin guard (ApiAdmin.requireAdmin): 401, 403 AUTH_ADMIN_ONLY, or 404 in open mode. */
  readonly requireAdmin: (req: IncomingMessage) => Promise<Identity>;
  readonly chat: Pick<ChatService, 'online'>;
  readonly profiles: Pick<Profiles, 'directory'>;
  readonly roster: RosterStore;
  readonly stats: Stats;
  readonly rate: Pick<MessageRate, 'perMinute'>;
  readonly readiness: Pick<Readiness, 'check'>;
  /** When this process started, ms since the epoch. */
  readonly started: number;
  readonly now?: () => number;
}

/** What `GET /api/v1/admin/health` answers (docs/api.md, Admin). */
export interface AdminHealth {
  /** Streams open on the process that answers, by front door. */
  readonly streams: { readonly classic: number; readonly api: number };
  /** Users online in the whole cluster (what the page's "N online" counts). */
  readonly usersOnline: number;
  /** Messages the answering process accepted in about the last minute (MessageRate). */
  readonly messagesPerMinute: number;
  readonly store: 'ok' | 'down';
  readonly bus: 'ok' | 'down';
  /** Seconds since the answering process started. */
  readonly uptime: number;
}

/** A user as `GET /api/v1/admin/users` lists them. */
export interface AdminUser {
  readonly nick: string;
  readonly displayName: string | null;
  readonly admin: boolean;
  readonly created: number;
  /** When a stream of theirs last opened or closed (to the minute); null: not since recorded. */
  readonly lastSeen: number | null;
  readonly online: boolean;
  readonly ban: SanctionView | null;
  readonly mute: SanctionView | null;
}

/**
 * The admins' read-only views: `GET /api/v1/admin/health` and `GET /api/v1/admin/users`
 * (docs/api.md, Admin). Both behind the admin guard.
 */
export class ApiAdminView {
  private readonly now: () => number;

  constructor(private readonly deps: ApiAdminViewDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** `GET /api/v1/admin/health`. */
  readonly health: Handler = async (req, res) => {
    await this.deps.requireAdmin(req);
    const { stats, readiness, rate } = this.deps;
    // Readiness pings at most once a second for every caller together (READY_CACHE_MS).
    const [report, online] = await Promise.all([readiness.check(), this.deps.chat.online()]);
    const up = (name: string) => (report.checks[name] === 'ok' ? 'ok' : 'down');
    const health: AdminHealth = {
      streams: { classic: stats.streamsOpen.classic, api: stats.streamsOpen.api },
      usersOnline: online.length,
      messagesPerMinute: rate.perMinute(),
      store: up('store'),
      bus: up('bus'),
      uptime: Math.floor((this.now() - this.deps.started) / 1000),
    };
    sendJson(res, 200, health);
  };

  /** `GET /api/v1/admin/users?q=&after=&limit=`: the directory's page, with what admins see. */
  readonly users: Handler = async (req, res) => {
    await this.deps.requireAdmin(req);
    const { prefix, after, limit } = directoryQuery(req);
    const page = await this.deps.profiles.directory(prefix, after, limit);
    const details = await this.deps.roster.details(
      page.users.map((u) => u.nick),
      this.now(),
    );
    const byNick = new Map(details.map((d) => [d.nick, d]));
    const users: AdminUser[] = [];
    for (const u of page.users) {
      const d = byNick.get(u.nick);
      // An account deleted between the two reads is left out.
      if (!d) continue;
      users.push({
        nick: u.nick,
        displayName: u.displayName,
        admin: d.admin,
        created: d.created,
        lastSeen: d.lastSeen,
        online: u.online,
        ban: d.ban,
        mute: d.mute,
      });
    }
    sendJson(res, 200, { users, next: page.next });
  };
}
