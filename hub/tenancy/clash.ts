// Two tenants may share a cluster only on disjoint Slurm accounts: a job belongs to the tenant of
// its (cluster, account), so when one cluster and one account match both tenants' globs, which
// tenant owns the job would depend on the order of the config. Across regions a cluster is
// (region, name): an unqualified glob names the hub's own region, so `gpu` and `default/gpu` are
// one cluster in region default, while `eu/gpu` and `us/gpu` are two. Checked at config load,
// where the hub's region is known (hub/config/schema.ts).
import { globMatch } from '../policy/index.js';
import { splitClusterGlob } from './tenancy.js';

export interface OwnershipClash {
  /** The later tenant in the config, and the index of its cluster glob (where the issue is reported). */
  tenant: string;
  index: number;
  message: string;
}

const ANY = 'x';

/**
 * The shortest non-empty string both globs match (`*` any run, `?` one character, the rest
 * literal), or undefined when none does: a walk of the two globs' automata in step.
 */
export function globOverlap(a: string, b: string): string | undefined {
  type State = [number, number, 0 | 1];
  const key = ([i, j, n]: State): string => `${i},${j},${n}`;
  const seen = new Map<string, string>();
  const queue: [State, string][] = [];
  const push = (s: State, text: string): void => {
    if (seen.has(key(s))) return;
    seen.set(key(s), text);
    queue.push([s, text]);
  };
  push([0, 0, 0], '');
  // One character step on one glob from position i: where it can be after `c` (-1: nowhere).
  const step = (g: string, i: number, c: string): number => (i >= g.length ? -1 : g[i] === '*' ? i : g[i] === '?' || g[i] === c ? i + 1 : -1);
  for (let q = 0; q < queue.length; q++) {
    const [[i, j, n], text] = queue[q]!;
    if (i === a.length && j === b.length && n === 1) return text;
    // A star may match nothing.
    if (a[i] === '*') push([i + 1, j, n], text);
    if (b[j] === '*') push([i, j + 1, n], text);
    for (const c of new Set([a[i], b[j], ANY].filter((x): x is string => x !== undefined && x !== '*' && x !== '?'))) {
      const [ni, nj] = [step(a, i, c), step(b, j, c)];
      if (ni >= 0 && nj >= 0) push([ni, nj, 1], text + c);
    }
  }
  return undefined;
}

/** What to call the overlap in a message: the glob itself when both are the same text, else the name both match. */
const shown = (x: string, y: string, overlap: string): string => (x === y ? x : overlap);

/** Every pair of tenants owning the same (region, cluster, account), once per tenant pair. */
export function ownershipClashes(tenants: Record<string, { clusters: readonly string[]; accounts: readonly string[] }>, region: string): OwnershipClash[] {
  const out: OwnershipClash[] = [];
  const names = Object.keys(tenants);
  for (const [k, name] of names.entries()) {
    for (const other of names.slice(0, k)) {
      const clash = firstClash(tenants[name]!, tenants[other]!, region);
      if (!clash) continue;
      const { index, glob, otherGlob, cluster, account } = clash;
      out.push({
        tenant: name,
        index,
        message: `tenants ${other} and ${name} both own the jobs of account "${account}" on cluster ${cluster} (${other}: "${otherGlob}", ${name}: "${glob}"): a job belongs to one tenant; give each tenant of a shared cluster its own accounts`,
      });
    }
  }
  return out;
}

function firstClash(t: { clusters: readonly string[]; accounts: readonly string[] }, o: { clusters: readonly string[]; accounts: readonly string[] }, region: string) {
  for (const [index, glob] of t.clusters.entries()) {
    const [r, n] = splitClusterGlob(glob, region);
    for (const otherGlob of o.clusters) {
      const [or, on] = splitClusterGlob(otherGlob, region);
      const regionBoth = globOverlap(r, or);
      const nameBoth = regionBoth === undefined ? undefined : globOverlap(n, on);
      if (regionBoth === undefined || nameBoth === undefined) continue;
      for (const acc of t.accounts) {
        for (const otherAcc of o.accounts) {
          const accBoth = globOverlap(acc, otherAcc);
          if (accBoth === undefined) continue;
          // The hub's own region when both globs name it: the likeliest reading, and a real region.
          const inRegion = globMatch(r, region) && globMatch(or, region) ? region : shown(r, or, regionBoth);
          return { index, glob, otherGlob, cluster: `${inRegion}/${shown(n, on, nameBoth)}`, account: shown(acc, otherAcc, accBoth) };
        }
      }
    }
  }
  return undefined;
}
