// Fenced writes to Redis. Each is one Lua script that first compares the caller's fencing
// token with the highest token this Redis has seen: lower is refused, higher becomes the new
// fence. So once a new leader has claimed the fence (or written anything), every write of a
// deposed leader is refused, however late it arrives.
import type { Redis } from 'ioredis';
import { FencedOffError, type FenceTarget } from '../leader/index.js';
import type { ReplicationKeys } from './keys.js';

const FENCE_CHECK = `
local token = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current > token then return {0, tostring(current)} end
if current < token then redis.call('SET', KEYS[1], ARGV[1]) end
`;

/** Runs ARGV[3..] as a list of commands: name, argument count, arguments... */
const RUN_COMMANDS = `
local i = 3
local n = tonumber(ARGV[2])
for _ = 1, n do
  local name = ARGV[i]
  local count = tonumber(ARGV[i + 1])
  i = i + 2
  local args = {}
  for a = 1, count do args[a] = ARGV[i + a - 1] end
  i = i + count
  redis.call(name, unpack(args))
end
return {1}
`;

export type RedisArg = string | number | Buffer;
export type RedisCommand = [name: string, ...args: RedisArg[]];

export class RedisFence implements FenceTarget {
  readonly name = 'redis';
  refusals = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ReplicationKeys,
  ) {}

  async claim(token: number): Promise<void> {
    await this.exec(token, []);
  }

  /** Runs the commands atomically if token is not older than the fence. */
  async exec(token: number, commands: RedisCommand[]): Promise<void> {
    const argv: RedisArg[] = [String(commands.length)];
    for (const [name, ...args] of commands) argv.push(name, String(args.length), ...args);
    await this.script(token, RUN_COMMANDS, argv);
  }

  /**
   * Runs a script of one's own after the fence check: KEYS[1] is the fence, ARGV[1] the
   * token; the script's own keys (KEYS[2]...) and arguments (ARGV[2]...) follow. It must end
   * with `return {1, ...}`.
   */
  async script(token: number, body: string, argv: RedisArg[], keys: string[] = []): Promise<unknown[]> {
    const result = (await this.redis.eval(FENCE_CHECK + body, 1 + keys.length, this.keys.fence, ...keys, String(token), ...argv)) as unknown[];
    if (result[0] === 0) {
      this.refusals++;
      throw new FencedOffError(`Redis refused a write of fencing token ${token}: token ${String(result[1])} has written since`, { fencing_token: token });
    }
    return result;
  }

  /** The highest token this Redis has seen (0 for none). */
  async current(): Promise<number> {
    return Number((await this.redis.get(this.keys.fence)) ?? 0);
  }
}
