// Keeps the fleet gauges under a series budget (metrics.max_series, default 20,000). Over it,
// the account label keeps its busiest values and folds the rest into `other`, then partition
// does the same: sums stay right (sum by (cluster) is unchanged), only detail goes. What was
// folded is itself a metric, so a dashboard can say why an account is missing.
import { OTHER, SEP } from './fleet-tally.js';

export interface Family {
  name: string;
  help: string;
  labelNames: readonly string[];
  /** label values joined by SEP, in labelNames order -> value */
  series: Map<string, number>;
}

export interface GuardResult {
  families: Family[];
  wanted: number;
  served: number;
  /** label -> how many of its values were kept (only for folded labels) */
  folded: Map<string, number>;
}

/** Labels folded first to last when over budget. */
const FOLD_ORDER = ['account', 'partition'] as const;

export function guardSeries(families: Family[], limit: number): GuardResult {
  const wanted = count(families);
  const folded = new Map<string, number>();
  let out = families;
  for (const label of FOLD_ORDER) {
    if (count(out) <= limit) break;
    const { families: next, kept } = fold(out, label, limit);
    out = next;
    folded.set(label, kept);
  }
  return { families: out, wanted, served: count(out), folded };
}

function count(families: Family[]): number {
  let n = 0;
  for (const f of families) n += f.series.size;
  return n;
}

/** Keeps the values of `label` in order of weight while the budget lasts; the rest become `other`. */
function fold(families: Family[], label: string, limit: number): { families: Family[]; kept: number } {
  const weight = new Map<string, number>();
  const cost = new Map<string, number>();
  let fixed = 0;
  for (const f of families) {
    const i = f.labelNames.indexOf(label);
    if (i < 0) {
      fixed += f.series.size;
      continue;
    }
    for (const [key, v] of f.series) {
      const value = key.split(SEP)[i]!;
      weight.set(value, (weight.get(value) ?? 0) + v);
      cost.set(value, (cost.get(value) ?? 0) + 1);
    }
  }
  // `other` costs at most what the biggest value costs; reserve that first.
  let budget = limit - fixed - Math.max(0, ...cost.values());
  const keep = new Set<string>();
  for (const [value] of [...weight].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) {
    const c = cost.get(value)!;
    if (c > budget) break;
    budget -= c;
    keep.add(value);
  }
  const next = families.map((f) => {
    const i = f.labelNames.indexOf(label);
    if (i < 0) return f;
    const series = new Map<string, number>();
    for (const [key, v] of f.series) {
      const parts = key.split(SEP);
      if (!keep.has(parts[i]!)) parts[i] = OTHER;
      const k = parts.join(SEP);
      series.set(k, (series.get(k) ?? 0) + v);
    }
    return { ...f, series };
  });
  return { families: next, kept: keep.size };
}
