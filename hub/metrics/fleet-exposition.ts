// The fleet families as Prometheus text, built by the hub itself rather than by prom-client's
// registry. The counts are kept as deltas apply (fleet-counts.ts), so a scrape costs the number of
// series, not of jobs; what is left is building and formatting those series, and prom-client
// formats a family in one synchronous pass (2,000 account series at once). Here the work runs in
// slices of about a millisecond with a turn of the event loop between them: a cluster's tally, then
// the text a few hundred lines at a time. A query that arrives during a scrape waits for one slice,
// not for the scrape (the metrics bench measures both).
//
// Why not keep the text cached: Prometheus scrapes every 15 s or so and the counts change between
// scrapes on a busy fleet, so a cache would mostly hold stale text; slicing bounds the wait for
// every scrape, the first included. Each render builds its own strings: two scrapes at once (an HA
// pair of Prometheus) share nothing but the memoized guard result.
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../shared/clock/index.js';
import type { FleetCounts } from './fleet-counts.js';
import { FLEET_FAMILIES, FleetSeriesBuilder, TENANT_LABEL, type FleetFamilyKey, type FleetSeriesOptions, type FleetSeriesResult, type TenantOf } from './fleet-series.js';
import { SEP } from './fleet-tally.js';

/** Work between two turns of the event loop, in milliseconds. */
const SLICE_MS = 1;
/** Lines formatted between two looks at the clock. */
const CHECK_EVERY = 64;

export class FleetExposition {
  private memo: { at: number; result: FleetSeriesResult } | undefined;
  private readonly clock: Clock;

  constructor(
    private readonly counts: FleetCounts,
    private readonly opts: FleetSeriesOptions,
    private readonly tenantOf?: TenantOf,
    clock: Clock = systemClock,
  ) {
    this.clock = clock;
  }

  /**
   * The guarded series, as the last render built them when that was within a second (the guard's
   * own gauges read this right after the fleet text), else built now in one go.
   */
  result(): FleetSeriesResult {
    const now = this.clock.now();
    if (this.memo && now - this.memo.at <= 1_000 && now >= this.memo.at) return this.memo.result;
    const b = new FleetSeriesBuilder(this.opts, this.tenantOf);
    for (const [record, tally] of this.counts.tallies()) b.add(record, tally);
    return this.remember(b.finish());
  }

  /** The fleet families in the text exposition format, built in slices. */
  async render(): Promise<string> {
    const slice = new Slice();
    const b = new FleetSeriesBuilder(this.opts, this.tenantOf);
    for (const [record, tally] of this.counts.tallies()) {
      b.add(record, tally);
      await slice.maybeTurn();
    }
    const result = this.remember(b.finish());
    await slice.maybeTurn();
    const out: string[] = [];
    const tenants = !!this.tenantOf;
    for (const [key, spec] of Object.entries(FLEET_FAMILIES) as [FleetFamilyKey, (typeof FLEET_FAMILIES)[FleetFamilyKey]][]) {
      const help = tenants ? `${spec.help}; tenant: the tenant that owns the ${(spec.labelNames as readonly string[]).includes('account') ? 'account' : 'whole cluster'} (absent: none)` : spec.help;
      out.push(`# HELP ${spec.name} ${escapeHelp(help)}\n# TYPE ${spec.name} gauge\n`);
      const family = result.byKey.get(key);
      if (!family) continue;
      const names = family.labelNames;
      let n = 0;
      for (const [k, v] of family.series) {
        if (++n % CHECK_EVERY === 0) await slice.maybeTurn();
        const parts = k.split(SEP);
        let labels = '';
        for (let i = 0; i < names.length; i++) {
          // No tenant: no label (an empty value would read as a tenant named "").
          if (names[i] === TENANT_LABEL && !parts[i]) continue;
          labels += `${labels ? ',' : ''}${names[i]}="${escapeLabelValue(parts[i]!)}"`;
        }
        out.push(`${spec.name}{${labels}} ${formatValue(v)}\n`);
      }
    }
    return out.join('');
  }

  private remember(result: FleetSeriesResult): FleetSeriesResult {
    this.memo = { at: this.clock.now(), result };
    return result;
  }
}

/** Lets timers and I/O run once about SLICE_MS of work has been done since the last turn. */
class Slice {
  private since = performance.now();

  async maybeTurn(): Promise<void> {
    if (performance.now() - this.since < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(s: string): string {
  return /[\\"\n]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : s;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(v);
}
