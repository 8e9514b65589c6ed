/**
 * Every option ssechat understands: its flag, its environment variable, its default and its
 * bounds, each stated once, here. README.md's config table lists the same (a test checks).
 * Loading and precedence live in config.ts.
 */

/** One option: where it is read from, its default, and the parser that validates it. */
export interface Option<T> {
  readonly flag: string;
  readonly env: string;
  /** A conventional variable read when `env` is unset (PORT, HOST: what the seed read). */
  readonly alias?: string;
  readonly default: T;
  readonly doc: string;
  parse(raw: string): T;
}

function int(flag: string, def: number, min: number, max: number, doc: string): Option<number> {
  return {
    flag,
    env: envName(flag),
    default: def,
    doc: `${doc} (${min} to ${max})`,
    parse(raw) {
      const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        throw new Error(`"${raw}" is not a whole number from ${min} to ${max}`);
      }
      return n;
    },
  };
}

function oneOf<const T extends string>(
  flag: string,
  def: T,
  values: readonly T[],
  doc: string,
): Option<T> {
  return {
    flag,
    env: envName(flag),
    default: def,
    doc: `${doc} (${values.join(', ')})`,
    parse(raw) {
      if (!(values as readonly string[]).includes(raw)) {
        throw new Error(`"${raw}" is not one of ${values.join(', ')}`);
      }
      return raw as T;
    },
  };
}

function text(flag: string, def: string, doc: string): Option<string> {
  return {
    flag,
    env: envName(flag),
    default: def,
    doc,
    parse(raw) {
      if (raw === '') throw new Error('must not be empty');
      return raw;
    },
  };
}

function list(flag: string, doc: string): Option<readonly string[]> {
  return {
    flag,
    env: envName(flag),
    default: [],
    doc: `${doc} (comma-separated)`,
    parse(raw) {
      const items = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      for (const item of items) {
        if (!/^https?:\/\/[^/?#\s]+$/.test(item)) {
          throw new Error(`"${item}" is not an origin like https://chat.example.com`);
        }
      }
      return Object.freeze(items);
    },
  };
}

/**
 * The VAPID subject (RFC 8292): how a push service can reach the operator. The default names
 * no real mailbox, because ssechat cannot know one: it says plainly that nobody configured a
 * contact, rather than inventing one (a project's address would send complaints about this
 * server to people who do not run it). Apple's push service refuses a subject on `localhost`
 * (403 BadJwtToken), so an operator whose users are on iPhones must set --push-subject; the
 * server warns at startup while it is the default.
 */
export const DEFAULT_PUSH_SUBJECT = 'mailto:ssechat@localhost';

function subject(flag: string, doc: string): Option<string> {
  return {
    flag,
    env: envName(flag),
    default: DEFAULT_PUSH_SUBJECT,
    doc,
    parse(raw) {
      // A mailto: with one address, or an https: URL with a host; no spaces, no credentials.
      const mailto = /^mailto:[^\s@/?#]+@[^\s@/?#]+$/.test(raw);
      let https = false;
      if (!mailto && /^https:\/\/\S+$/.test(raw)) {
        try {
          const url = new URL(raw);
          https = url.hostname !== '' && url.username === '' && url.password === '';
        } catch {
          https = false;
        }
      }
      if (!mailto && !https) {
        throw new Error(
          `"${raw}" is not a mailto: address or an https: URL (e.g. mailto:admin@chat.example.com)`,
        );
      }
      if (raw.length > 256) throw new Error('is longer than 256 characters');
      return raw;
    },
  };
}

/** A token-bucket limit: `rate` per second refilled, up to `burst` at once; null when off. */
export type RateLimit = { readonly rate: number; readonly burst: number } | null;

function rate(flag: string, def: string, doc: string): Option<RateLimit> {
  const parse = (raw: string): RateLimit => {
    if (raw === '0' || raw === 'off') return null;
    const m = /^(\d{1,7}(?:\.\d{1,3})?),(\d{1,9})$/.exec(raw);
    const r = m ? Number(m[1]) : 0;
    const b = m ? Number(m[2]) : 0;
    if (!m || r <= 0 || b < 1) {
      throw new Error(`"${raw}" is not RATE,BURST (per second, e.g. 50,1000) or 0 for no limit`);
    }
    return Object.freeze({ rate: r, burst: b });
  };
  return {
    flag,
    env: envName(flag),
    default: parse(def),
    doc: `${doc} (RATE,BURST: RATE per second refilled, BURST at once; 0 for no limit)`,
    parse,
  };
}

/** The environment variable of a flag: `--max-replay` is SSECHAT_MAX_REPLAY. */
export function envName(flag: string): string {
  return `SSECHAT_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** Every option ssechat understands. */
export const OPTIONS = {
  host: {
    ...text('--host', '127.0.0.1', 'Address to listen on; 0.0.0.0 or :: for all interfaces'),
    alias: 'HOST',
  },
  port: {
    ...int('--port', 8000, 0, 65535, 'TCP port to listen on; 0 picks a free one'),
    alias: 'PORT',
  },
  dataDir: text('--data-dir', './data', 'Directory for the SQLite database (ssechat.db)'),
  store: oneOf(
    '--store',
    'sqlite',
    ['sqlite', 'postgres', 'memory'],
    'Where messages and accounts are kept; postgres for a cluster',
  ),
  databaseUrl: text(
    '--database-url',
    'postgres://127.0.0.1:5432/ssechat',
    'PostgreSQL connection string, for --store postgres',
  ),
  sqliteSynchronous: oneOf(
    '--sqlite-synchronous',
    'normal',
    ['normal', 'full'],
    'normal survives a crash of the process; full also survives power loss, at some speed',
  ),
  databaseSchema: text(
    '--database-schema',
    'public',
    'PostgreSQL schema of the tables, created if missing; several chats can share a database',
  ),
  bus: oneOf(
    '--bus',
    'memory',
    ['memory', 'redis'],
    'How processes share events and presence: memory (one process) or redis (a cluster)',
  ),
  redisUrl: text(
    '--redis-url',
    'redis://127.0.0.1:6379',
    'Redis connection string, for --bus redis',
  ),
  redisPrefix: text(
    '--redis-prefix',
    'ssechat:',
    'Prefix of every Redis key and channel, so that several chats can share one Redis',
  ),
  webhookUrl: text(
    '--webhook-url',
    'none',
    'POST a signed JSON event here when a user comes online or goes offline; none for off',
  ),
  webhookSecret: text(
    '--webhook-secret',
    'none',
    'HMAC-SHA256 key that signs webhook bodies (X-Ssechat-Signature); required with a URL',
  ),
  auth: oneOf(
    '--auth',
    'open',
    ['open', 'accounts'],
    'open: anyone may use any nickname, as in the seed; accounts: users register with a password',
  ),
  registration: oneOf(
    '--registration',
    'open',
    ['open', 'invite', 'closed'],
    'With --auth accounts, who may register: open: anyone; invite: only with an invite link an admin made; closed: only admins and the command line make accounts. An admin may change it at runtime (PUT /api/v1/admin/registration): the stored mode then wins over this option',
  ),
  cookieSecure: oneOf(
    '--cookie-secure',
    'auto',
    ['auto', 'always', 'never'],
    'Secure flag of the session cookie; auto sets it on TLS or X-Forwarded-Proto: https',
  ),
  trustProxy: oneOf(
    '--trust-proxy',
    'no',
    ['no', 'yes'],
    'yes: take the client address from X-Forwarded-For (behind nginx), for per-IP limits',
  ),
  corsOrigins: list(
    '--cors-origins',
    'Other origins whose pages may call the API with a bearer token or stream ticket',
  ),
  presenceGraceMs: int(
    '--presence-grace-ms',
    5_000,
    0,
    60_000,
    'A JSON API user who reconnects within this many ms does not announce leave and join',
  ),
  presenceHeartbeatMs: int(
    '--presence-heartbeat-ms',
    3_000,
    50,
    60_000,
    '--bus redis: how often a process refreshes its presence heartbeat in Redis, in ms',
  ),
  presenceNodeTtlMs: int(
    '--presence-node-ttl-ms',
    10_000,
    100,
    600_000,
    '--bus redis: a process silent this long is dead and its users go offline; at least twice --presence-heartbeat-ms',
  ),
  retentionDays: int(
    '--retention-days',
    0,
    0,
    36_500,
    'Delete messages older than this many days; 0 keeps them forever',
  ),
  retentionCount: int(
    '--retention-count',
    0,
    0,
    1_000_000_000,
    'Keep at most this many newest messages and receipts; 0 keeps any number',
  ),
  maxReplay: int(
    '--max-replay',
    10_000,
    100,
    1_000_000,
    'Most events one resume replays; a client further behind gets a reset',
  ),
  bigRoomMembers: int(
    '--big-room-members',
    200,
    2,
    1_000_000,
    'Rooms with more members get a member count instead of every join and leave',
  ),
  accountDeleteMessages: oneOf(
    '--account-delete-messages',
    'keep',
    ['keep', 'delete'],
    'What deleting an account does to its messages: keep them under the departed nick, or delete each through the log',
  ),
  deletedNickReserveDays: int(
    '--deleted-nick-reserve-days',
    30,
    0,
    3650,
    "Days a deleted account's nick (and its look-alikes) cannot be registered again when its messages were deleted; 0 for none (kept messages keep the nick reserved for good)",
  ),
  logLevel: oneOf(
    '--log-level',
    'info',
    ['debug', 'info', 'warn', 'error', 'silent'],
    'Least severe log level written to stdout',
  ),
  heartbeatMs: int(
    '--heartbeat-ms',
    15_000,
    1_000,
    30_000,
    'Interval of the keep-alive comment on every open stream, in ms; proxies drop idle ones',
  ),
  maxNickLength: int('--max-nick-length', 32, 1, 64, 'Longest nickname, in characters'),
  maxMessageLength: int(
    '--max-message-length',
    2_000,
    1,
    100_000,
    'Longest message text, in characters',
  ),
  maxUrlLength: int(
    '--max-url-length',
    8_192,
    256,
    12_288,
    'Longest request target, in bytes; longer gets 414 (a classic /msg carries its text in the URL)',
  ),
  maxOfflinePerUser: int(
    '--max-offline-per-user',
    1_000,
    1,
    1_000_000,
    'Messages that may wait for one offline user; more get 429',
  ),
  maxQueueBytes: int(
    '--max-queue-bytes',
    1_048_576,
    4_096,
    67_108_864,
    'Unsent bytes one stream may buffer before it is closed as a slow reader',
  ),
  releaseParser: oneOf(
    '--release-parser',
    'auto',
    ['auto', 'on', 'off'],
    "Whether an open stream gives its connection's HTTP parser back to node (about 2.5 KB per idle stream; relies on node internals): auto when this node has them, on (refuse to start without), off",
  ),
  sendLimitUser: rate(
    '--send-limit-user',
    '50,1000',
    'Messages (and read receipts) one user may send; more get 429 with Retry-After',
  ),
  sendLimitIp: rate(
    '--send-limit-ip',
    '500,5000',
    'Messages (and read receipts) one client address may send; more get 429 with Retry-After',
  ),
  connectLimitUser: rate(
    '--connect-limit-user',
    '20,200',
    'Streams one user may open; more get 429 with Retry-After',
  ),
  connectLimitIp: rate(
    '--connect-limit-ip',
    '50,1000',
    'Streams one client address may open; more get 429 with Retry-After',
  ),
  maxStreamsPerUser: int(
    '--max-streams-per-user',
    32,
    0,
    100_000,
    'Streams one user may hold open at once on this process, against tab storms; 0 for any number',
  ),
  maxConnectionsPerIp: int(
    '--max-connections-per-ip',
    // An office of about 100 behind one NAT address fits: our page holds one stream per
    // browser (shared by its tabs) and a keep-alive connection or two for its requests, and a
    // browser opens at most 6 per origin. One address with thousands would take the file
    // descriptors everyone else needs (http/connection-gate.ts).
    256,
    0,
    1_000_000,
    'Open TCP connections one client address (IPv6: its /64) may hold; more are answered 429 and closed; 0 for any number; not applied with --trust-proxy yes',
  ),
  pushSubject: subject(
    '--push-subject',
    'Contact the push services (Google, Mozilla, Apple) see in every Web Push: mailto:you@example.com or https://your.site; Apple refuses the default',
  ),
  pushAllowPrivateEndpoints: oneOf(
    '--push-allow-private-endpoints',
    'no',
    ['no', 'yes'],
    'yes: let push subscriptions point at http: and private or loopback addresses (tests, intranets); otherwise only https: to public addresses',
  ),
  maxUploadBytes: int(
    '--max-upload-bytes',
    26_214_400,
    1,
    1_073_741_824,
    'Largest file one upload may carry, in bytes; a larger one is cut off while it streams (413)',
  ),
  uploadQuotaBytes: int(
    '--upload-quota-bytes',
    1_073_741_824,
    0,
    Number.MAX_SAFE_INTEGER,
    'Bytes of files one user may keep stored (sent or not; deleting a message frees its files); 0 for no quota',
  ),
  uploadUnsentTtl: int(
    '--upload-unsent-ttl',
    3_600,
    1,
    604_800,
    'Seconds an upload may wait to be sent in a message before it is deleted',
  ),
  maxImagePixels: int(
    '--max-image-pixels',
    40_000_000,
    1_000_000,
    268_402_689,
    'Most pixels (width × height × frames) of an image the server decodes for its thumbnail; more is refused (422), which stops decompression bombs',
  ),
  blobStore: oneOf(
    '--blob-store',
    'auto',
    ['auto', 'disk', 'postgres'],
    'Where uploaded files live: disk under --data-dir/blobs (one process), postgres in --database-url (a cluster); auto picks postgres with --store postgres, else disk',
  ),
  metricsToken: text(
    '--metrics-token',
    'none',
    'When set, GET /metrics needs Authorization: Bearer <token>; none serves it to anyone',
  ),
} as const;

/** The table of options, by their key in Config. */
export type Options = typeof OPTIONS;

/** The validated settings ssechat runs with. */
export type Config = { readonly [K in keyof Options]: ReturnType<Options[K]['parse']> };

/** How docs show an option's value: lists comma-separated, an empty one as (none). */
export function defaultText(value: unknown): string {
  if (value === null) return '0';
  if (typeof value === 'object' && 'rate' in value && 'burst' in value) {
    return `${value.rate},${value.burst}`;
  }
  if (!Array.isArray(value)) return String(value);
  return value.length === 0 ? '(none)' : value.join(',');
}
