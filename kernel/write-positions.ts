import type { RedisClient } from './clients/redis.js';

/**
 * The primary's GTID position after each user's latest write, in Redis, so that every API
 * instance knows how far a replica must have come before it may answer that user's reads.
 */
export interface WritePositions {
  /** Raises the remembered position of `key` to `position` (never lowers it) and renews its TTL. */
  remember(key: string, position: string): Promise<void>;
  get(key: string): Promise<string | null>;
}

/**
 * Merges a GTID list (`domain-server-seq,...`) into the stored one, keeping per domain the higher
 * sequence number. A plain SET would lose a race: two writes of one user on two instances read
 * positions P1 < P2, and P1's SET arriving last would let a read skip waiting for P2. Sequence
 * numbers are compared as decimal strings (length, then text): a 64-bit one does not fit a Lua number.
 */
const REMEMBER = `
local merged, order = {}, {}
local function higher(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local function add(list)
  for gtid in string.gmatch(list, '[^,]+') do
    local domain, server, seq = string.match(gtid, '^%s*(%d+)%-(%d+)%-(%d+)%s*$')
    if domain then
      local current = merged[domain]
      if not current then table.insert(order, domain) end
      if not current or higher(seq, current[2]) then merged[domain] = { server, seq } end
    end
  end
end
add(redis.call('GET', KEYS[1]) or '')
add(ARGV[1])
local parts = {}
for _, domain in ipairs(order) do
  table.insert(parts, domain .. '-' .. merged[domain][1] .. '-' .. merged[domain][2])
end
local value = table.concat(parts, ',')
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value`;

type PositionCommands = { rememberWritePosition(key: string, position: string, ttlMs: string): Promise<string> };

/** `ttlMs`: after this long a write is on any replica the router would still read from (see replica-reads.ts). */
export function createWritePositions(redis: RedisClient, ttlMs: number, namespace = 'write-position'): WritePositions {
  const client = redis as RedisClient & Partial<PositionCommands>;
  if (!client.rememberWritePosition) client.defineCommand('rememberWritePosition', { numberOfKeys: 1, lua: REMEMBER });
  const commands = client as RedisClient & PositionCommands;
  const keyOf = (key: string) => `${namespace}:${key}`;
  return {
    async remember(key, position) {
      await commands.rememberWritePosition(keyOf(key), position, String(Math.ceil(ttlMs)));
    },
    get: (key) => redis.get(keyOf(key)),
  };
}
