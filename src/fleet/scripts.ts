/**
 * The fleet's Lua scripts. Each runs atomically in Redis, in one round trip, and takes time from
 * Redis (`TIME`), so that leases and report windows do not depend on the pods' clocks.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Budget lease: drop expired leases, then add `id` expiring in `ttl` ms unless `limit` leases are
 * held. KEYS: budget zset. ARGV: limit, ttl ms, lease id. Returns 1 granted, 0 busy.
 */
export const BUDGET_ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * Renews the leases this pod still holds (never re-adds one that expired). KEYS: budget zset.
 * ARGV: ttl ms, lease ids... Returns how many were renewed.
 */
export const BUDGET_RENEW = `${NOW}
local ttl = tonumber(ARGV[1])
local n = 0
for i = 2, #ARGV do n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return n`;

/**
 * Probe lease: take it when free, or extend it when this pod holds it. KEYS: probe key.
 * ARGV: pod id, ttl ms. Returns 1 held, 0 another pod holds it.
 */
export const PROBE_TAKE = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Gives the probe lease back when this pod holds it. KEYS: probe key. ARGV: pod id. */
export const PROBE_DROP = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A failure report: stores this pod's entry in the upstream's streak hash, then publishes it.
 * KEYS: streak hash. ARGV: pod id, entry JSON (without `at`), window ms, channel, upstream.
 * Returns the Redis time of the report.
 */
export const REPORT_FAILING = `${NOW}
local e = cjson.decode(ARGV[2])
e.at = now
local json = cjson.encode(e)
redis.call('HSET', KEYS[1], ARGV[1], json)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], cjson.encode({t = 'failing', u = ARGV[5], pod = ARGV[1], e = e}))
return now`;

/**
 * A success after the group's streak began ends it for every pod: deletes the streak hash and
 * publishes that, only when there was one. KEYS: streak hash. ARGV: pod id, channel, upstream.
 * Returns 1 when it ended a streak.
 */
export const REPORT_OK = `if redis.call('DEL', KEYS[1]) == 0 then return 0 end
${NOW}
redis.call('PUBLISH', ARGV[2], cjson.encode({t = 'ok', u = ARGV[3], pod = ARGV[1], at = now}))
return 1`;

/**
 * The prober closed its breaker: the group's open state, streak and probe lease end, the recovery
 * is recorded (Redis time, expiring after `ttl`), and every pod hears it.
 * KEYS: open, streak, probe, recovered. ARGV: pod id, channel, message JSON, ttl ms, reason.
 */
export const RECOVER = `${NOW}
redis.call('DEL', KEYS[1], KEYS[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
redis.call('SET', KEYS[4], cjson.encode({at = now, pod = ARGV[1], reason = ARGV[5]}), 'PX', ARGV[4])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

/**
 * A pod's heartbeat: its view (expiring after `ttl`), its place in the member set, members not
 * heard within `ttl` dropped. KEYS: pods zset, pod key. ARGV: pod id, view JSON, ttl ms.
 * Returns {now, members}.
 */
export const HEARTBEAT = `${NOW}
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 10)
return {now, redis.call('ZCARD', KEYS[1])}`;
