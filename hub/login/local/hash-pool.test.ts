import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultHashThreads, HashPool } from './hash-pool.js';

const CHEAP = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** A field of each thread of this process (Linux: /proc/self/task/<tid>/stat; 19 nice, 41 policy). */
function threadStat(field: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // The command name may hold spaces: fields are counted after its closing parenthesis (field 3 on).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), Number(fields[field - 3]));
  }
  return out;
}
const threadNice = (): Map<number, number> => threadStat(19);
const SCHED_IDLE = 5;

describe('password hash pool', () => {
  let pool: HashPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('hashes on threads of its own: the main thread keeps turning while hashes run', async () => {
    pool = new HashPool(2, 8);
    let turns = 0;
    let hashing = true;
    const spin = (): void => {
      turns++;
      if (hashing) setTimeout(spin, 1);
    };
    setTimeout(spin, 1);
    const keys = await Promise.all([1, 2, 3, 4].map((i) => pool!.scrypt(`password ${i}`, Buffer.from('salt'), 32, CHEAP)));
    hashing = false;
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBe(4);
    // Hashing on the main thread would have let it turn only between the four hashes.
    expect(turns).toBeGreaterThan(20);
  });

  it('beyond its queue a login is refused at once with a typed error', async () => {
    pool = new HashPool(1, 2);
    const running = [1, 2, 3].map(() => pool!.scrypt('x', Buffer.from('salt'), 32, CHEAP));
    await expect(pool.scrypt('x', Buffer.from('salt'), 32, CHEAP)).rejects.toMatchObject({ code: 'SF_AUTH_HASH_POOL_BUSY', httpStatus: 503 });
    await Promise.all(running);
  });

  it.runIf(process.platform === 'linux')('its threads run at the lowest priority (nice 19), the main thread keeps its own', async () => {
    const before = threadNice();
    pool = new HashPool(2, 8);
    await Promise.all([1, 2].map(() => pool!.scrypt('x', Buffer.from('salt'), 32, CHEAP)));
    const after = threadNice();
    const added = [...after].filter(([tid]) => !before.has(tid));
    expect(added.filter(([, nice]) => nice === 19).length).toBeGreaterThanOrEqual(2);
    expect(after.get(process.pid)).toBe(before.get(process.pid));
  });

  it.runIf(process.platform === 'linux')('its threads run under SCHED_IDLE (only on CPU time nothing else wants), the main thread stays a normal thread', async () => {
    const before = threadStat(41);
    pool = new HashPool(2, 8);
    await Promise.all([1, 2].map(() => pool!.scrypt('x', Buffer.from('salt'), 32, CHEAP)));
    const after = threadStat(41);
    const added = [...after].filter(([tid]) => !before.has(tid));
    expect(added.filter(([, policy]) => policy === SCHED_IDLE).length).toBe(2);
    expect(after.get(process.pid)).toBe(0);
  });

  it('by default leaves a core to the rest of the hub: one less than the cores, 1 to 2 threads', () => {
    expect([1, 2, 3, 4, 64].map((cores) => defaultHashThreads(cores))).toEqual([1, 1, 2, 2, 2]);
  });

  it.runIf(process.platform === 'linux')('with one thread a burst of hashes runs one at a time, on one thread; configure() sets the sizes', async () => {
    const before = threadNice();
    pool = new HashPool(2, 8);
    pool.configure(1, 3);
    const burst = [1, 2, 3, 4].map(() => pool!.scrypt('x', Buffer.from('salt'), 32, CHEAP));
    // One running and three waiting: the fifth is refused.
    await expect(pool.scrypt('x', Buffer.from('salt'), 32, CHEAP)).rejects.toMatchObject({ code: 'SF_AUTH_HASH_POOL_BUSY' });
    await Promise.all(burst);
    const added = [...threadNice()].filter(([tid, nice]) => !before.has(tid) && nice === 19);
    expect(added).toHaveLength(1);
  });
});
