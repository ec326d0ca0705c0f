// The dashboard in a real Chromium across regions: two hub processes in two regions (east, the
// browser's, with west as its peer), each fed by one simulated cluster. The overview shows west's
// clusters with their age through scope=global, and west unreachable (its last cards kept,
// marked) once its hub is stopped, then reachable again. The browser reaches east through a TCP
// proxy: cut, the page shows the connection lost; jobs changed during the cut reach the open page
// once it is restored, replayed from Last-Event-ID, without a reload. The jobs table with "All
// regions" (scope=global) lists both regions' jobs, each marked with its region, sorted and
// filtered across them, counted together; a west job's detail is the row west listed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { startSimulatedFleet, type RunningFleet } from '../sim/index.js';
import { HeadlessChromium } from './harness/chromium.js';
import { axeViolations as axe, loginOnPage, screenshot as shot } from './harness/dashboard-page.js';
import { httpsCall } from './harness/hub-child.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { registerSecret, testLogger } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { TcpProxy } from './harness/tcp-proxy.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const PASSWORD = 'dashboard regions 2026';
const RBAC = {
  bindings: [
    { group: 'ops', role: 'admin' },
    { client: 'tester', role: 'admin' },
  ],
};

let pki: TestPki;
let east: LoginHub;
let west: LoginHub;
let proxy: TcpProxy;
let fleet: RunningFleet;
const agents: RunningAgent[] = [];
let browser: HeadlessChromium;
let page: Page;
let origin: string;
let eastCluster: string;
let westCluster: string;

/** A GET at a hub with the test client's certificate (an admin), never through the proxy. */
async function hubGet<T>(hub: LoginHub, path: string): Promise<{ status: number; body: string; json: () => T }> {
  const a = await httpsCall(`${hub.httpUrl}${path}`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 10_000 });
  return { status: a.status, body: a.body, json: () => JSON.parse(a.body) as T };
}


beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  const dir = mkdtempSync(join(tmpdir(), `dashboard-regions-${process.pid}-`));
  west = new LoginHub(join(dir, 'west'), pki, { region: 'west', rbac: RBAC });
  await west.ports();
  east = new LoginHub(join(dir, 'east'), pki, { region: 'east', rbac: RBAC, regions: { peers: [{ name: 'west', url: west.httpUrl, timeout: '1s' }] } });
  await east.ports();
  registerSecret(PASSWORD, 'dashboard regions test password');
  await sfleet(['user', 'add', 'olivia', '--group', 'ops', '--data-dir', east.dataDir], { ...process.env, SFLEET_USER_PASSWORD: PASSWORD });
  await west.start();
  await east.start();
  fleet = await startSimulatedFleet({ listen: '127.0.0.1:0', clusters: 2, namePrefix: 'reg', nodes: 16, jobs: 200, tickMs: 1000, token: 'sim-token', log: () => undefined });
  [eastCluster, westCluster] = fleet.clusters.map((c) => c.name);
  for (const [c, hub] of [
    [fleet.clusters[0], east],
    [fleet.clusters[1], west],
  ] as const) {
    agents.push(
      await startTestAgent(
        { cluster: c.name, endpoints: [hub.grpcAddress], tls: await pki.agent(c.name), slurm: { source: 'rest', endpoints: [c.url], auth: { user: 'root', token: 'sim-token' }, simulator: true }, pollInterval: '500ms' },
        { logger: testLogger(`agent-${c.name}`) },
      ),
    );
  }
  await waitFor('each region has its cluster', async () => {
    const e = await hubGet<{ items: { name: string }[] }>(east, '/api/v1/clusters');
    const w = await hubGet<{ items: { name: string }[] }>(west, '/api/v1/clusters');
    return e.status === 200 && w.status === 200 && e.json().items.some((c) => c.name === eastCluster) && w.json().items.some((c) => c.name === westCluster);
  }, 60_000);
  proxy = await new TcpProxy('127.0.0.1', east.httpPort).start();
  origin = `https://localhost:${proxy.port}`;
  browser = await HeadlessChromium.launch([pki.hub.cert]);
  page = await browser.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  for (const a of agents) await a.close();
  await fleet?.close();
  await east?.stop();
  await west?.stop();
});


describe('the dashboard across regions', () => {
  it('the overview shows the peer region through scope=global with its age, and the peer unreachable once its hub is stopped', async () => {
    await page.goto(`${origin}/`);
    await loginOnPage(page, 'olivia', PASSWORD);
    await page.waitForURL(`${origin}/`);
    await page.waitForSelector(`section[data-region="west"][data-reachable="true"] article[data-cluster="${westCluster}"] .bar`, { timeout: 30_000 });
    await page.waitForSelector(`section[data-region="east"] article[data-cluster="${eastCluster}"] .bar`);
    expect(await page.textContent('section[data-region="east"] h2')).toContain('(this hub, live)');
    expect(await page.textContent('section[data-region="west"] [data-testid=region-age]')).toMatch(/^as of \d+ s ago$/);
    const card = await page.textContent(`section[data-region="west"] article[data-cluster="${westCluster}"]`);
    expect(card).toContain('Agent connected');
    expect(card).toMatch(/RUNNING\s*\d+/);
    // west's cluster is not east's: it is listed under west only.
    expect(await page.$$(`section[data-region="east"] article[data-cluster="${westCluster}"]`)).toHaveLength(0);
    await shot(page, 'overview-regions');
    expect(await axe(page)).toEqual([]);

    await west.stop();
    await page.waitForSelector('section[data-region="west"][data-reachable="false"]', { timeout: 45_000 });
    expect(await page.textContent('section[data-region="west"] [data-testid=region-age]')).toMatch(/^unreachable: last answered \d+ s ago$/);
    expect(await page.textContent('main [role=status].warn')).toContain('Unreachable regions: west');
    // Its last cards stay, marked: stale because the region cannot vouch for them.
    expect(await page.textContent(`section[data-region="west"] article[data-cluster="${westCluster}"]`)).toMatch(/Stale: .*\(region unreachable\)/);
    // east itself is still live.
    expect(await page.textContent(`section[data-region="east"] article[data-cluster="${eastCluster}"]`)).toContain('Fresh');
    await shot(page, 'overview-region-unreachable');
    expect(await axe(page)).toEqual([]);

    // Back: the region answers again and is shown as such.
    await west.start();
    await page.waitForSelector('section[data-region="west"][data-reachable="true"]', { timeout: 45_000 });
    expect(await page.$$('main [role=status].warn')).toHaveLength(0);
  });

  it('a lost connection is shown; jobs changed during the cut appear without a reload, resumed from Last-Event-ID', async () => {
    await page.goto(`${origin}/jobs?cluster=${eastCluster}`);
    await page.waitForSelector('[data-job]:has(button[aria-label^="cancel"])');
    // The rows come from the REST list; the live stream opens beside it, a moment later.
    await page.waitForFunction(() => document.querySelector('[data-testid=watch-state]')?.textContent === 'Live', undefined, { timeout: 15_000 });
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
    // Two pending jobs the page shows, followed by id (rows may move as others change).
    const keys = await page.$$eval('[data-job]', (rows) => rows.filter((r) => r.querySelector('.chip')?.textContent === 'PENDING').map((r) => r.getAttribute('data-job')!));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const changed = keys.slice(0, 2);
    const before = await replayedResumes();

    proxy.cut();
    await page.waitForFunction(() => document.querySelector('[data-testid=watch-state]')?.textContent?.startsWith('Connection lost'), undefined, { timeout: 15_000 });
    const engine = fleet.simulators.find((s) => s.name === eastCluster)!.engine;
    for (const key of changed) engine.cancel(Number(key.split('/')[1]));
    // The hub has them (the agent is not behind the proxy); the page cannot hear of them yet.
    for (const key of changed) {
      await waitFor(`${key} cancelled on the hub`, async () => (await hubGet<{ state: string }>(east, `/api/v1/jobs/${key}`)).json().state === 'CANCELLED', 30_000);
    }
    for (const key of changed) expect(await page.textContent(`[data-job="${key}"] .chip`)).toBe('PENDING');
    await shot(page, 'jobs-connection-lost');

    proxy.restore();
    await page.waitForFunction(() => document.querySelector('[data-testid=watch-state]')?.textContent === 'Live', undefined, { timeout: 30_000 });
    for (const key of changed) {
      await page.waitForFunction((k) => document.querySelector(`[data-job="${k}"] .chip`)?.textContent === 'CANCELLED', key, { timeout: 20_000 });
    }
    // The same page (no reload), and the hub replayed what the stream had missed.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
    expect(await replayedResumes()).toBeGreaterThan(before);
  });

  it('the jobs table across regions: both regions\' jobs with their region, counted together, sorted and filtered across them', async () => {
    const totalOf = async (hub: LoginHub, filter = ''): Promise<number> => (await hubGet<{ total: number }>(hub, `/api/v1/jobs?count=true&limit=1${filter}`)).json().total;
    await page.goto(`${origin}/jobs`);
    await page.waitForSelector('[data-testid=job-count]:not(:has-text("Loading"))', { timeout: 30_000 });
    expect(await page.$$('[data-testid=job-region]')).toHaveLength(0);
    const largest = Math.max(await totalOf(east), await totalOf(west));
    await page.click('label.scope input[type=checkbox]');
    await page.waitForURL(/[?&]scope=global/);
    await page.waitForSelector('[data-job][data-region="west"]', { timeout: 30_000 });
    await page.waitForSelector('[data-job][data-region="east"]');
    expect(await page.textContent(`[data-job^="${westCluster}/"] [data-testid=job-region]`)).toBe('west');
    // The count is both regions' (each has about 200 simulated jobs; the sum is well above either).
    const count = Number((await page.textContent('[data-testid=job-count]'))!.replace(/[^0-9]/g, ''));
    expect(count).toBeGreaterThan(largest + 50);

    // Sorted by job id (descending on the first click) across the regions: one order, both regions in it.
    await page.click('[role=columnheader] button:has-text("Job")');
    await page.waitForURL(/sort=id/);
    await page.waitForFunction(() => document.querySelector('[role=columnheader][aria-sort] button')?.textContent?.startsWith('Job'));
    await page.waitForFunction(() => {
      const ids = Array.from(document.querySelectorAll('[data-job]')).map((r) => Number(r.getAttribute('data-job')!.split('/')[1]));
      return ids.length > 10 && ids.every((id, i) => i === 0 || ids[i - 1] >= id);
    }, undefined, { timeout: 20_000 });
    const shown = await page.$$eval('[data-job]', (rows) => rows.map((r) => r.getAttribute('data-region')));
    expect(new Set(shown)).toEqual(new Set(['east', 'west']));
    expect(await axe(page)).toEqual([]);
    await shot(page, 'jobs-all-regions');

    // A filter reaches the peer region too: west's cluster only, every row marked west.
    await page.fill('#job-filter', `cluster:${westCluster}`);
    await page.waitForURL(new RegExp(`cluster=${westCluster}`));
    await page.waitForFunction((c) => {
      const rows = Array.from(document.querySelectorAll('[data-job]'));
      return rows.length > 0 && rows.every((r) => r.getAttribute('data-job')!.startsWith(`${c}/`) && r.getAttribute('data-region') === 'west');
    }, westCluster, { timeout: 20_000 });
    expect(new URL(page.url()).searchParams.get('scope')).toBe('global');

    // A west job's detail: the row as west listed it, with no action offered through east.
    const key = (await page.getAttribute('[data-job][data-region="west"]', 'data-job'))!;
    await page.click(`[data-job="${key}"] a`);
    await page.waitForSelector('[data-testid=job-remote]');
    expect(await page.textContent('[data-testid=job-remote]')).toContain('In region west');
    expect(await page.textContent('#job-detail-title')).toBe(`Job ${key}`);
    expect(await page.$$('.detail .buttons button')).toHaveLength(0);
  });
});

/** sfleet_watch_resumes_total{outcome="replayed"} on east. */
async function replayedResumes(): Promise<number> {
  const text = (await hubGet(east, '/metrics')).body;
  const line = /^sfleet_watch_resumes_total\{outcome="replayed"\} (\d+)/m.exec(text);
  if (!line) throw new Error('east has no sfleet_watch_resumes_total{outcome="replayed"}');
  return Number(line[1]);
}
