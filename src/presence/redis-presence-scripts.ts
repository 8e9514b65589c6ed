/**
 * The Lua scripts behind RedisPresence. Each runs atomically in Redis, which is what makes
 * "first tab anywhere" and "last tab anywhere, grace ran out" exact across nodes: exactly one
 * script run sees each transition, and only the node that ran it calls its offline listeners.
 *
 * Keys, all under the prefix P (ARGV[1] of every script):
 *
 * - `P nodes`            SET: ids of registered nodes.
 * - `P node:<id>`        STRING with a TTL: the node's heartbeat. A node whose key expired is
 *                        dead: its connections no longer count, and a sweep reaps them.
 * - `P nodenicks:<id>`   SET: the nicks with at least one connection on node <id>.
 * - `P conns:<nick>`     HASH: node id → that node's open connections of <nick> (> 0).
 * - `P online`           ZSET: online users (grace windows included), scored by arrival.
 * - `P seq`              counter that gives the arrival scores.
 * - `P grace`            ZSET: users within a grace window, scored by its deadline in Redis
 *                        server milliseconds. A ZSET rather than one expiring key per user,
 *                        because expired keys cannot be listed cheaply and one clock (Redis's
 *                        TIME) serves every node.
 *
 * The scripts derive key names from the prefix instead of declaring them in KEYS, so they
 * need a standalone Redis (or a single primary), not Redis Cluster. TIME inside a writing
 * script needs Redis 5 or later (effects replication).
 */

/** Helpers prepended to every script. */
const COMMON = `
local P = ARGV[1]
local ONLINE, GRACE, NODES = P .. 'online', P .. 'grace', P .. 'nodes'

-- Connections of nick on live nodes: a node whose heartbeat expired does not count.
local function live_total(nick)
  local h = redis.call('HGETALL', P .. 'conns:' .. nick)
  local total = 0
  for i = 1, #h, 2 do
    if redis.call('EXISTS', P .. 'node:' .. h[i]) == 1 then
      total = total + tonumber(h[i + 1])
    end
  end
  return total
end

-- Redis server time, so that every node measures grace windows with one clock.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Removes every trace of nick; 1 when it was online, so the caller fires exactly once.
local function go_offline(nick)
  redis.call('DEL', P .. 'conns:' .. nick)
  redis.call('ZREM', GRACE, nick)
  return redis.call('ZREM', ONLINE, nick)
end

-- Starts nick's grace window when its last live connection is gone.
local function maybe_grace(nick, deadline)
  if live_total(nick) == 0 and redis.call('ZSCORE', ONLINE, nick)
    and not redis.call('ZSCORE', GRACE, nick) then
    redis.call('ZADD', GRACE, deadline, nick)
  end
end
`;

/**
 * ARGV: P, node, nick. Counts a connection of nick on node and returns
 * `{first, tabs, online}`: whether nick came online, its live connections before this one, and
 * the online users before it in arrival order.
 */
export const CONNECT = `${COMMON}
local node, nick = ARGV[2], ARGV[3]
local online = redis.call('ZRANGE', ONLINE, 0, -1)
local tabs = live_total(nick)
local first = 0
if not redis.call('ZSCORE', ONLINE, nick) then
  first = 1
  redis.call('ZADD', ONLINE, redis.call('INCR', P .. 'seq'), nick)
end
redis.call('ZREM', GRACE, nick)
redis.call('HINCRBY', P .. 'conns:' .. nick, node, 1)
redis.call('SADD', P .. 'nodenicks:' .. node, nick)
return {first, tabs, online}
`;

/** What DISCONNECT did; the numbers are the script's replies. */
export const Disconnected = {
  /** Node had no connection of nick. */
  Noop: 0,
  /** Nick still has a connection somewhere, or was not online. */
  StillThere: 1,
  /** Nick went offline now: the caller fires its offline listeners. */
  Offline: 2,
  /** Nick's grace window started. */
  Grace: 3,
} as const;

/** ARGV: P, node, nick, graceMs. Uncounts a connection of nick on node; see Disconnected. */
export const DISCONNECT = `${COMMON}
local node, nick, grace = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = P .. 'conns:' .. nick
local mine = tonumber(redis.call('HGET', key, node) or '0')
if mine <= 0 then return 0 end
if mine == 1 then
  redis.call('HDEL', key, node)
  redis.call('SREM', P .. 'nodenicks:' .. node, nick)
else
  redis.call('HINCRBY', key, node, -1)
end
if live_total(nick) > 0 or not redis.call('ZSCORE', ONLINE, nick) then return 1 end
if grace <= 0 then
  go_offline(nick)
  return 2
end
redis.call('ZADD', GRACE, now_ms() + grace, nick)
return 3
`;

/**
 * ARGV: P, nick. Ends nick's grace window if it ran out: 0 when nick went offline now (the
 * caller fires), -1 when there is nothing to do (nick came back, or another node fired), or
 * the milliseconds still to wait (nick left again since, with a later deadline).
 */
export const EXPIRE = `${COMMON}
local nick = ARGV[2]
local deadline = redis.call('ZSCORE', GRACE, nick)
if not deadline then return -1 end
local wait = tonumber(deadline) - now_ms()
if wait > 0 then return wait end
redis.call('ZREM', GRACE, nick)
if live_total(nick) > 0 then return -1 end
if go_offline(nick) == 1 then return 0 end
return -1
`;

/** ARGV: P, nick. 1 when nick has a connection on a live node. */
export const IS_CONNECTED = `${COMMON}
if live_total(ARGV[2]) > 0 then return 1 end
return 0
`;

/**
 * ARGV: P, node, ttlMs, expected, fresh. Refreshes node's heartbeat, storing `fresh` in it,
 * and registers the node. Returns 1 when the heartbeat did not hold `expected`, the token of
 * the node's last beat whose reply it saw: the key expired (first beat, a stall or a partition
 * longer than the TTL, Redis lost its data) and other nodes may have reaped this node's
 * connections, or a beat whose reply never arrived wrote it, and nobody can tell what
 * happened in between. The node must then sync its connections back.
 *
 * Why a token and not "did the key exist": after a partition the beats that timed out reach
 * Redis back to back at the heal; the first one re-creates the key (and its "lost" reply is
 * thrown away with its timeout), so every later beat would see a live key and the node would
 * never learn it was reaped.
 */
export const HEARTBEAT = `${COMMON}
local node, ttl, expected, fresh = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = P .. 'node:' .. node
local lost = redis.call('GET', key) ~= expected
redis.call('SET', key, fresh, 'PX', ttl)
redis.call('SADD', NODES, node)
if lost then return 1 end
return 0
`;

/**
 * ARGV: P, node, then triples nick, count, graceMs. Sets node's share of each nick to count,
 * healing Redis after a call whose outcome is unknown (a dropped connection) or after this
 * node was reaped. A nick that count brings back comes online again silently (its place is
 * new); a nick whose last connection it removes starts a grace window of graceMs. Returns the
 * nicks it brought back online, so that the caller can tell the cluster (a re-sync changes
 * who is online without a join).
 */
export const SYNC = `${COMMON}
local node = ARGV[2]
local now = now_ms()
local back = {}
for i = 3, #ARGV, 3 do
  local nick, count, grace = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local key = P .. 'conns:' .. nick
  if count > 0 then
    redis.call('HSET', key, node, count)
    redis.call('SADD', P .. 'nodenicks:' .. node, nick)
    redis.call('ZREM', GRACE, nick)
    if not redis.call('ZSCORE', ONLINE, nick) then
      redis.call('ZADD', ONLINE, redis.call('INCR', P .. 'seq'), nick)
      back[#back + 1] = nick
    end
  else
    redis.call('HDEL', key, node)
    redis.call('SREM', P .. 'nodenicks:' .. node, nick)
    maybe_grace(nick, now + grace)
  end
end
return back
`;

/**
 * ARGV: P, node, graceMs, batch. A clean shutdown: removes up to `batch` of node's
 * connections, starting a grace window of graceMs for each nick that had its last one here
 * (another node's sweep ends it). Returns 1 while some remain; at 0 the node is unregistered.
 */
export const LEAVE = `${COMMON}
local node, grace, batch = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local set = P .. 'nodenicks:' .. node
local deadline = now_ms() + grace
for _, nick in ipairs(redis.call('SPOP', set, batch)) do
  redis.call('HDEL', P .. 'conns:' .. nick, node)
  maybe_grace(nick, deadline)
end
if redis.call('SCARD', set) > 0 then return 1 end
redis.call('DEL', P .. 'node:' .. node)
redis.call('SREM', NODES, node)
return 0
`;

/**
 * ARGV: P, batch. Run by every node every sweep interval; whichever runs first does the work.
 * Reaps dead nodes (heartbeat expired): their connections are removed and a nick left with
 * none goes offline at once, since its clients have already had the node TTL to reconnect
 * elsewhere (a nick within a grace window keeps it). Then ends the grace windows that ran out.
 * Does at most `batch` nicks of each kind, so one run never blocks Redis for long. Returns
 * `{more, nick...}`: whether work is left, and the nicks that went offline (the caller fires).
 */
export const SWEEP = `${COMMON}
local batch = tonumber(ARGV[2])
local fired = {}
local more = 0
local budget = batch
for _, node in ipairs(redis.call('SMEMBERS', NODES)) do
  if budget <= 0 then
    more = 1
    break
  end
  if redis.call('EXISTS', P .. 'node:' .. node) == 0 then
    local set = P .. 'nodenicks:' .. node
    local nicks = redis.call('SPOP', set, budget)
    budget = budget - #nicks
    for _, nick in ipairs(nicks) do
      redis.call('HDEL', P .. 'conns:' .. nick, node)
      if live_total(nick) == 0 and not redis.call('ZSCORE', GRACE, nick)
        and go_offline(nick) == 1 then
        fired[#fired + 1] = nick
      end
    end
    if redis.call('SCARD', set) == 0 then
      redis.call('SREM', NODES, node)
    else
      more = 1
    end
  end
end
local due = redis.call('ZRANGEBYSCORE', GRACE, '-inf', now_ms(), 'LIMIT', 0, batch)
if #due == batch then more = 1 end
for _, nick in ipairs(due) do
  redis.call('ZREM', GRACE, nick)
  if live_total(nick) == 0 and go_offline(nick) == 1 then
    fired[#fired + 1] = nick
  end
end
return {more, fired}
`;
