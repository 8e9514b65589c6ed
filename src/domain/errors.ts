/**
 * The one catalogue of error codes. Every error that reaches a client is a ChatError with a
 * stable code from this table; the HTTP edge maps it to a status in one place (http/reply.ts).
 * Codes are part of the public API: add new ones, never rename or reuse one.
 */
export const ERRORS = {
  CHAT_NICK_INVALID: { status: 400, message: 'invalid nickname' },
  CHAT_NICK_RESERVED: { status: 400, message: 'this nickname is reserved' },
  CHAT_MESSAGE_MALFORMED: { status: 400, message: 'malformed message request' },
  CHAT_TEXT_INVALID: { status: 400, message: 'message text contains forbidden characters' },
  CHAT_TEXT_TOO_LONG: { status: 413, message: 'message text is too long' },
  CHAT_TEXT_EMPTY: { status: 400, message: 'message text is empty; send some text or a file' },
  CHAT_MAILBOX_FULL: {
    status: 429,
    message: "the recipient's offline mailbox is full; try again after they log in",
  },
  CHAT_MUTED: { status: 403, message: 'you are muted' },
  CHAT_CLIENT_ID_INVALID: {
    status: 400,
    message: 'clientId must be 1 to 64 characters from A-Z a-z 0-9 . _ : -',
  },
  CHAT_RECEIPT_INVALID: { status: 400, message: 'upTo must be the id of a message you received' },
  CHAT_ROOM_INVALID: { status: 400, message: 'invalid room name' },
  CHAT_ROOM_NOT_FOUND: { status: 404, message: 'no such room' },
  CHAT_ROOM_EXISTS: { status: 409, message: 'a room of this name exists' },
  CHAT_NOT_MEMBER: { status: 403, message: 'you are not a member of this room' },
  CHAT_FORBIDDEN: { status: 403, message: 'you may not do this in this room' },
  CHAT_MESSAGE_NOT_FOUND: { status: 404, message: 'no such message' },
  CHAT_REPLY_INVALID: {
    status: 400,
    message: 'replyTo must be the id of a message in the same conversation',
  },
  CHAT_REACTION_INVALID: {
    status: 400,
    message: 'a reaction is one emoji (at most 32 UTF-16 code units)',
  },
  CHAT_REACTIONS_FULL: {
    status: 409,
    message: 'this message has the most distinct reactions allowed; use one of those',
  },
  CHAT_SEARCH_INVALID: { status: 400, message: 'this search cannot be run' },
  CHAT_TOO_MANY_ROOMS: {
    status: 403,
    message: 'you are a member of too many rooms; leave one first',
  },
  CHAT_USER_NOT_FOUND: {
    status: 404,
    message: 'no registered user has this nickname',
  },
  CHAT_PROFILE_INVALID: {
    status: 400,
    message: 'a display name is 1 to 64 visible characters, without control characters',
  },
  CHAT_ROLE_INVALID: { status: 400, message: 'role must be owner, moderator or member' },
  CHAT_RATE_LIMITED: { status: 429, message: 'too many requests; slow down' },
  CHAT_TOO_MANY_STREAMS: {
    status: 429,
    message: 'this user has too many streams open; close a tab or share one stream between tabs',
  },
  PUSH_ENDPOINT_INVALID: {
    status: 400,
    message:
      'the push endpoint must be an https: URL of at most 2048 characters on a public address',
  },
  PUSH_KEYS_INVALID: {
    status: 400,
    message:
      'keys.p256dh must be a base64url P-256 public key (65 bytes) and keys.auth a base64url 16-byte secret',
  },
  UPLOAD_TOO_LARGE: { status: 413, message: 'the file is larger than this server accepts' },
  UPLOAD_QUOTA_EXCEEDED: {
    status: 413,
    message: 'your uploads use up your storage quota; delete messages with files first',
  },
  UPLOAD_NAME_INVALID: {
    status: 400,
    message:
      'name must be 1 to 255 characters with something visible, without control, invisible or bidirectional characters, / or \\',
  },
  UPLOAD_EMPTY: { status: 400, message: 'the file is empty' },
  UPLOAD_IMAGE_TOO_LARGE: {
    status: 422,
    message: 'the image has more pixels than this server decodes',
  },
  UPLOAD_IMAGE_INVALID: { status: 422, message: 'the image could not be decoded' },
  UPLOAD_BUSY: {
    status: 503,
    message: 'the server is processing too many images; try again shortly',
  },
  UPLOAD_NOT_FOUND: { status: 404, message: 'no such upload' },
  UPLOAD_UNUSABLE: {
    status: 400,
    message: 'attachments must be ids of your own uploads, not yet sent and not expired',
  },
  UPLOAD_TOO_MANY: { status: 400, message: 'too many attachments in one message' },
  HTTP_RANGE_NOT_SATISFIABLE: { status: 416, message: 'the range is outside the file' },
  ACCOUNT_EXPORT_BUSY: {
    status: 503,
    message: 'the server is exporting too many accounts at once; try again shortly',
  },
  BLOCK_INVALID: { status: 400, message: 'you cannot block yourself' },
  BLOCKS_FULL: { status: 409, message: 'you block as many users as you may; unblock one first' },
  AUTH_REQUIRED: { status: 401, message: 'log in first' },
  AUTH_FAILED: { status: 401, message: 'wrong nickname or password' },
  AUTH_FORBIDDEN: { status: 403, message: 'this session may not act as that user' },
  AUTH_CROSS_SITE: { status: 403, message: 'cross-site request refused' },
  AUTH_NICK_TAKEN: { status: 409, message: 'this nickname is already registered' },
  // Sanctions (core/sanctions.ts): the body's error carries `until` (ms; null: until lifted)
  // and `reason`.
  AUTH_BANNED: { status: 403, message: 'this account is banned' },
  AUTH_ADDRESS_BANNED: { status: 403, message: 'this address is banned' },
  AUTH_ACCOUNTS_ONLY: { status: 404, message: 'this server runs without accounts (auth=open)' },
  AUTH_PASSWORD_WEAK: { status: 400, message: 'password does not meet the rules' },
  AUTH_RATE_LIMITED: { status: 429, message: 'too many attempts; try again later' },
  AUTH_TICKET_INVALID: { status: 401, message: 'unknown, used or expired stream ticket' },
  AUTH_REGISTRATION_CLOSED: {
    status: 403,
    message: 'registration is closed on this server; ask an admin for an account',
  },
  AUTH_INVITE_REQUIRED: {
    status: 403,
    message: 'registration on this server needs an invite link; ask an admin or a member for one',
  },
  AUTH_INVITE_INVALID: { status: 403, message: 'this invite cannot be used' },
  INVITE_INVALID: {
    status: 400,
    message: 'maxUses must be 1 to 1000 and expiresInHours 1 to 8760 (whole numbers)',
  },
  INVITE_NOT_FOUND: { status: 404, message: 'no such invite' },
  INVITES_FULL: {
    status: 409,
    message: 'there are as many active invites as allowed; revoke some first',
  },
  REGISTRATION_MODE_INVALID: { status: 400, message: 'mode must be open, invite or closed' },
  AUTH_ADMIN_ONLY: { status: 403, message: 'server admins only' },
  AUTH_METRICS_TOKEN: {
    status: 401,
    message: 'send the metrics token as Authorization: Bearer <token>',
  },
  MOD_REASON_INVALID: {
    status: 400,
    message: 'a reason is at most 500 characters of one line, without control characters',
  },
  ADMIN_LAST: {
    status: 409,
    message: 'the server needs an admin: make another user an admin first',
  },
  USER_NOT_FOUND: { status: 404, message: 'no such user' },
  API_JSON_REQUIRED: { status: 415, message: 'send the body as Content-Type: application/json' },
  API_BODY_INVALID: { status: 400, message: 'malformed request body' },
  API_BODY_TOO_LARGE: { status: 413, message: 'request body is too large' },
  API_QUERY_INVALID: { status: 400, message: 'malformed query parameter' },
  HTTP_NOT_FOUND: { status: 404, message: 'not found' },
  HTTP_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  HTTP_URI_TOO_LONG: { status: 414, message: 'request URI is too long' },
  HTTP_HEADERS_TOO_LARGE: { status: 431, message: 'request headers are too large' },
  HTTP_BAD_REQUEST: { status: 400, message: 'malformed HTTP request' },
  HTTP_REQUEST_TIMEOUT: {
    status: 408,
    message:
      'the request took too long to arrive (10 s for headers, 30 s for a body; an upload must average 32 KiB/s)',
  },
  HTTP_TOO_MANY_CONNECTIONS: {
    status: 429,
    message: 'this address holds too many open connections; close some',
  },
  HTTP_STREAM_PIPELINED: {
    status: 400,
    message: 'a stream needs a connection of its own; open it on a new connection',
  },
  HTTP_STREAM_BODY: {
    status: 400,
    message: 'a stream request carries no body (no Content-Length above 0, no Transfer-Encoding)',
  },
  SERVER_UNAVAILABLE: { status: 503, message: 'the server is shutting down' },
  SERVER_CONNECTIONS_FULL: {
    status: 503,
    message: 'the server holds as many connections as it can',
  },
  SERVER_NOT_READY: { status: 503, message: 'not ready: a dependency did not answer' },
  // The database cannot write now (a full disk, read-only, an I/O error, a lost connection):
  // nothing of the request was stored, and a retry after Retry-After may succeed.
  SERVER_STORE_UNAVAILABLE: {
    status: 503,
    message: 'the server cannot store anything now; try again later',
  },
  MOD_TARGET_ADMIN: { status: 403, message: 'admins cannot ban or mute an admin or themselves' },
  MOD_DURATION_INVALID: { status: 400, message: 'minutes must be an integer from 1 to 525600' },
  MOD_SANCTION_NOT_FOUND: { status: 404, message: 'no such sanction in force' },
  MOD_ADDRESS_INVALID: { status: 400, message: 'not an IPv4 or IPv6 address' },
  MOD_ADDRESS_BANS_FULL: { status: 409, message: 'too many address bans in force' },
  // Reports of messages (domain/reports.ts).
  REPORT_NOT_FOUND: { status: 404, message: 'no such report' },
  REPORT_CLOSED: { status: 409, message: 'this report was handled already' },
  REPORT_ACTION_INVALID: {
    status: 400,
    message: 'action must be dismiss, delete, kick, mute or ban (kick: a room message only)',
  },
  REPORTS_FULL: {
    status: 429,
    message: 'you have too many open reports; wait until moderators handle some',
  },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable error code from the catalogue. */
export type ErrorCode = keyof typeof ERRORS;

/**
 * V8's `Error.stackTraceLimit`, typed here: the page's type check (web/tsconfig.json, which
 * reaches this file through the API's types) loads no Node types, which declare it.
 */
const V8Error = Error as ErrorConstructor & { stackTraceLimit: number };

/** An error with a stable code, an HTTP status and a message that is safe to show a client. */
export class ChatError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** For a 429 or 503: when the client may try again (the Retry-After header), in ms. */
  readonly retryAfterMs: number | undefined;
  /**
   * Fields the error body carries beside code and message, for a client to act on (a ban's
   * or a mute's `until` and `reason`); plain JSON values only.
   */
  readonly details: Readonly<Record<string, string | number | null>> | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    retryAfterMs?: number,
    details?: Readonly<Record<string, string | number | null>>,
  ) {
    const entry = ERRORS[code];
    // A ChatError is an answer to a client, not a bug: capturing a stack trace would make
    // every rejected request cost as much as two accepted ones (measured with wrk), a cheap
    // lever for a flood of bad requests. Unexpected errors keep their stacks.
    const limit = V8Error.stackTraceLimit;
    V8Error.stackTraceLimit = 0;
    super(detail ? `${entry.message}: ${detail}` : entry.message);
    V8Error.stackTraceLimit = limit;
    this.name = 'ChatError';
    this.code = code;
    this.status = entry.status;
    this.retryAfterMs = retryAfterMs;
    this.details = details;
  }
}

/** Narrows an unknown thrown value to a ChatError, wrapping anything else as INTERNAL. */
export function toChatError(err: unknown): ChatError {
  return err instanceof ChatError ? err : new ChatError('INTERNAL');
}
