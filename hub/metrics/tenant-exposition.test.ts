// A tenant's /metrics: the `tenant` label on fleet series, and the exposition cut to the series of
// the tenant's clusters and accounts (the route in hub/api/rest/hub-routes.ts applies it).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { ManualClock } from '../../shared/clock/index.js';
import { FleetState } from '../fleet/index.js';
import { AgentReports } from '../ingest/index.js';
import { newIngestStats } from '../ingest/stats.js';
import { createHubMetrics } from './hub-metrics.js';
import { filterExposition, tenantSeries } from './tenant-exposition.js';

async function exposition(): Promise<string> {
  const state = new FleetState();
  state.apply(jobDelta([testJob(1, { account: 'physics', state: 'RUNNING' }), testJob(2, { account: 'chem' }), testJob(3, { account: 'chem' })], { snapshot: true }));
  // physics is tenant phys's account on cluster a; chem belongs to no tenant; no tenant owns cluster a whole
  const tenantOf = (cluster: string, account: string | undefined) => (cluster === 'a' && account === 'physics' ? 'phys' : undefined);
  const { scrape } = createHubMetrics({ state, ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) }, tenantOf });
  return scrape();
}

describe('tenant metrics', () => {
  it('fleet series carry the tenant that owns their account; operators get every series', async () => {
    const text = await exposition();
    expect(text).toMatch(/^sfleet_account_jobs\{cluster="a",account="physics",state="RUNNING",tenant="phys"\} 1$/m);
    expect(text).toMatch(/^sfleet_account_jobs\{cluster="a",account="chem",state="PENDING"\} 2$/m);
    expect(text).toMatch(/^sfleet_jobs\{cluster="a",partition="debug",state="PENDING"\} 2$/m);
  });

  it("a tenant gets its accounts' series only: not other accounts, not whole-cluster counts, not the hub's own series", async () => {
    const text = await exposition();
    const mine = filterExposition(text, tenantSeries('phys', (o) => o.cluster === 'a' && o.account === 'physics'));
    const samples = mine.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(samples).toEqual(['sfleet_account_jobs{cluster="a",account="physics",state="RUNNING",tenant="phys"} 1']);
    expect(mine.split('\n').filter((l) => l.startsWith('#'))).toEqual([expect.stringMatching(/^# HELP sfleet_account_jobs /), '# TYPE sfleet_account_jobs gauge']);
  });

  it('a tenant that owns a cluster whole gets its cluster-wide series; another tenant gets nothing of it', async () => {
    const text = await exposition();
    const whole = filterExposition(text, tenantSeries('a-owner', (o) => o.cluster === 'a'));
    expect(whole).toMatch(/^sfleet_jobs\{cluster="a",partition="debug",state="PENDING"\} 2$/m);
    expect(whole).not.toContain('sfleet_build_info');
    expect(whole).not.toContain('tenant="phys"');
    expect(filterExposition(text, tenantSeries('elsewhere', (o) => o.cluster === 'b'))).toBe('');
  });

  it("accounts folded into other stay in their tenant's view: one other per tenant, the tenant's sums unchanged", async () => {
    // Cluster s is shared: phys owns p1..p3, bio owns b1..b2, acct-x belongs to no tenant. One account is served per cluster.
    const owner: Record<string, string> = { p1: 'phys', p2: 'phys', p3: 'phys', b1: 'bio', b2: 'bio' };
    const tenantOf = (_cluster: string, account: string | undefined) => (account === undefined ? undefined : owner[account]);
    const jobs = [['p1', 5], ['p2', 2], ['p3', 1], ['b1', 3], ['b2', 1], ['acct-x', 4]].flatMap(([account, n]) => Array.from({ length: n as number }, () => account as string));
    const state = new FleetState();
    state.apply(jobDelta(jobs.map((account, i) => testJob(i + 1, { cluster: 's', account, state: 'PENDING' })), { snapshot: true, cluster: 's' }));
    const sum = (text: string) => [...text.matchAll(/^sfleet_account_jobs\{.*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const inTenant = (t: string) => (o: { cluster: string; account: string }) => owner[o.account] === t;
    for (const options of [{ topAccounts: 1 }, { topAccounts: 100, maxSeries: 10 }]) {
      const text = await createHubMetrics({ state, ingest: { stats: newIngestStats(), reports: new AgentReports(new ManualClock(0)) }, tenantOf }, options).scrape();
      const phys = filterExposition(text, tenantSeries('phys', inTenant('phys')));
      const bio = filterExposition(text, tenantSeries('bio', inTenant('bio')));
      // what a tenant's Prometheus sums is what the tenant runs
      expect(sum(phys)).toBe(8);
      expect(sum(bio)).toBe(4);
      expect(sum(text)).toBe(jobs.length);
      expect(phys).toMatch(/^sfleet_account_jobs\{cluster="s",account="other",state="PENDING",tenant="phys"\} \d+$/m);
      expect(bio).toMatch(/^sfleet_account_jobs\{cluster="s",account="other",state="PENDING",tenant="bio"\} \d+$/m);
      expect(phys).not.toContain('tenant="bio"');
      // the accounts of no tenant fold into an other of no tenant, which no tenant sees
      expect(text).toMatch(/^sfleet_account_jobs\{cluster="s",account="(other|acct-x)",state="PENDING"\} 4$/m);
      execFileSync('promtool', ['check', 'metrics'], { input: text });
    }
  });

  it('reads label values with escaped quotes, braces and commas', () => {
    const text = ['# HELP x_total x', '# TYPE x_total counter', 'x_total{cluster="a\\"},b",account="p"} 3', 'x_total{cluster="b",account="p"} 4', ''].join('\n');
    expect(filterExposition(text, (l) => l.cluster === 'a"},b')).toBe('# HELP x_total x\n# TYPE x_total counter\nx_total{cluster="a\\"},b",account="p"} 3\n');
  });
});
