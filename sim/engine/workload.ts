// The job mix the simulator submits: users, partitions, QOS, sizes, time limits and outcomes
// drawn from the catalog's weights, like a busy HPC site's queue.
import { CPU_CHOICES, DEBUG_TIME_LIMITS_MIN, FAIL_EXIT_CODES, JOB_NAMES, MULTI_NODE_SHARE, OUTCOMES, QOS, TIME_LIMITS_MIN, USERS } from './catalog.js';
import type { ResolvedEngineOptions, SubmitSpec } from './options.js';
import type { Prng } from './prng.js';

/** A random job as a user would submit it; an array job now and then (small jobs only). */
export function randomJobSpec(rng: Prng, o: ResolvedEngineOptions, debugPartition: string, nodeCount: number): SubmitSpec {
  const user = rng.pick(USERS);
  const partition = rng.chance(0.2) ? debugPartition : 'batch';
  const qos = rng.weighted<string>([
    ['normal', 75],
    ['high', 10],
    ['low', 15],
  ]);
  const cpn = o.cpusPerNode;
  let cpus: number;
  if (partition === 'batch' && rng.chance(MULTI_NODE_SHARE) && nodeCount >= 4) cpus = cpn * rng.int(2, 4);
  else {
    const c = rng.weighted(CPU_CHOICES);
    cpus = c < 0 ? cpn : Math.min(c, cpn);
  }
  let limit = rng.weighted(partition === debugPartition ? DEBUG_TIME_LIMITS_MIN : TIME_LIMITS_MIN);
  const qosMax = QOS.find((q) => q.name === qos)?.maxWallMin;
  if (qosMax !== undefined) limit = Math.min(limit, qosMax);
  const outcome = rng.weighted(OUTCOMES);
  const durationS = Math.max(20, Math.floor(limit * 60 * (0.05 + 0.75 * rng.next())));
  const spec: SubmitSpec = {
    user: user.name,
    account: rng.pick(user.accounts),
    partition,
    qos,
    name: rng.pick(JOB_NAMES),
    cpus,
    durationS,
    timeLimitMin: limit,
    outcome,
    exitCode: rng.pick(FAIL_EXIT_CODES),
  };
  if (cpus <= 4 && rng.chance(0.02)) {
    const last = rng.int(5, 50);
    spec.array = { first: 1, last, max: rng.chance(0.3) ? rng.int(2, 8) : undefined };
  }
  return spec;
}
