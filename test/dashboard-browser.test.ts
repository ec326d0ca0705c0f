// The web dashboard in a real Chromium against a real hub process fed by two simulated clusters
// (sfleet sim, in this process, with agents): login and the way back to the asked URL, the
// overview of every cluster, the jobs table (count, sort, filter in the URL, keyboard, detail),
// a job cancelled and a node drained from the UI as the simulated slurmctld sees it, live
// updates without a reload, what a project_manager sees and may do, a forged cross-site POST
// refused, and axe-core on every page.
// Screenshots of every page go to the run directory (dashboard-screenshots/).
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { startSimulatedFleet, type RunningFleet } from '../sim/index.js';
import { HeadlessChromium } from './harness/chromium.js';
import { axeViolations as axe, loginOnPage, screenshot as shot } from './harness/dashboard-page.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { registerSecret, testLogger } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const PASSWORD = 'dashboard test 2026';
const PM_ACCOUNT = 'physics';

let pki: TestPki;
let hub: LoginHub;
let fleet: RunningFleet;
const agents: RunningAgent[] = [];
let browser: HeadlessChromium;
let page: Page;
let origin: string;

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  const dir = mkdtempSync(join(tmpdir(), `dashboard-browser-${process.pid}-`));
  hub = new LoginHub(join(dir, 'hub'), pki, {
    rbac: {
      roles: { project_manager: { permissions: ['jobs:read,cancel', 'nodes:read', 'cluster:read', 'watch:read'], filters: { account: PM_ACCOUNT } } },
      bindings: [
        { group: 'ops', role: 'admin' },
        { group: 'pm', role: 'project_manager' },
      ],
    },
  });
  const httpPort = await freePort();
  hub.httpPort = httpPort;
  hub.grpcPort = await freePort();
  origin = `https://localhost:${httpPort}`;
  registerSecret(PASSWORD, 'dashboard test password');
  const env = { ...process.env, SFLEET_USER_PASSWORD: PASSWORD };
  await sfleet(['user', 'add', 'olivia', '--group', 'ops', '--data-dir', hub.dataDir], env);
  await sfleet(['user', 'add', 'pat', '--group', 'pm', '--data-dir', hub.dataDir], env);
  await hub.start();
  fleet = await startSimulatedFleet({ listen: '127.0.0.1:0', clusters: 2, namePrefix: 'sim', nodes: 24, jobs: 300, tickMs: 1000, token: 'sim-token', log: () => undefined });
  for (const c of fleet.clusters) {
    agents.push(
      await startTestAgent(
        { cluster: c.name, endpoints: [hub.grpcAddress], tls: await pki.agent(c.name), slurm: { source: 'rest', endpoints: [c.url], auth: { user: 'root', token: 'sim-token' }, simulator: true }, pollInterval: '500ms' },
        { logger: testLogger(`agent-${c.name}`) },
      ),
    );
  }
  browser = await HeadlessChromium.launch([pki.hub.cert]);
  page = await browser.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  for (const a of agents) await a.close();
  await fleet?.close();
  await hub?.stop();
});

const engine = (cluster: string) => fleet.simulators.find((s) => s.name === cluster)!.engine;

const login = (p: Page, user: string): Promise<void> => loginOnPage(p, user, PASSWORD);


describe('the web dashboard in Chromium', () => {
  it('a visit without a session goes to the login page and comes back to the same URL; the page runs under a strict CSP', async () => {
    await waitFor('both clusters ingested', async () => (await hub.request('GET', '/readyz')).status === 200 && agents.length === 2, 30_000);
    const res = await hub.request('GET', '/jobs?state=RUNNING&sort=user&order=asc');
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
    expect(res.body).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
    await page.goto(`${origin}/jobs?state=RUNNING&sort=user&order=asc`);
    await login(page, 'olivia');
    await page.waitForURL(`${origin}/jobs?state=RUNNING&sort=user&order=asc`);
    await page.waitForSelector('[data-job]');
    expect(await page.inputValue('#job-filter')).toBe('state:RUNNING');
    const states = await page.$$eval('[data-job] .chip', (els) => els.map((e) => e.textContent));
    expect(new Set(states)).toEqual(new Set(['RUNNING']));
    const users = await page.$$eval('[data-job] [role=cell]:nth-child(3)', (els) => els.map((e) => e.textContent ?? ''));
    expect(users).toEqual([...users].sort());
  });

  it('the overview shows every cluster with its health, allocation, jobs by state and pending reasons', async () => {
    await page.goto(`${origin}/`);
    for (const c of fleet.clusters) await page.waitForSelector(`article[data-cluster="${c.name}"] .bar`);
    for (const c of fleet.clusters) {
      const text = await page.textContent(`article[data-cluster="${c.name}"]`);
      expect(text).toContain('Agent connected');
      expect(text).toContain('Controller up');
      expect(text).toMatch(/CPUs\d/);
      expect(text).toMatch(/RUNNING\s*\d+/);
    }
    expect(await page.textContent('[data-testid=watch-state]')).toBe('Live');
    await shot(page, 'overview');
    expect(await axe(page)).toEqual([]);
  });

  it('jobs: total count, keyboard filter into the URL, j/k, detail; a job cancelled from the UI is cancelled in slurmctld', async () => {
    await page.goto(`${origin}/jobs`);
    await page.waitForSelector('[data-job]');
    const total = Number((await page.textContent('[data-testid=job-count]'))!.replace(/\D/g, ''));
    const known = fleet.simulators.reduce((n, s) => n + [...s.engine.jobs()].length, 0);
    expect(total).toBeGreaterThan(0);
    expect(Math.abs(total - known)).toBeLessThan(known * 0.2 + 20);
    await page.keyboard.press('/');
    await page.keyboard.type('state:pending');
    await page.waitForURL(/state=PENDING/);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-job] .chip')).every((e) => e.textContent === 'PENDING'));
    await page.click('main h1');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    expect(await page.getAttribute('[data-job][aria-selected=true]', 'aria-rowindex')).toBe('4');
    await shot(page, 'jobs');
    expect(await axe(page)).toEqual([]);

    const key = (await page.getAttribute('[data-job]:has(button[aria-label^="cancel"])', 'data-job'))!;
    const [cluster, id] = key.split('/');
    await page.keyboard.press('k');
    await page.click(`[data-job="${key}"] a`);
    await page.waitForSelector('.detail dl.facts');
    expect(page.url()).toContain(`/jobs/${cluster}/${id}`);
    expect(await page.textContent('.detail')).toContain('Timeline');
    await shot(page, 'job-detail');
    expect(await axe(page)).toEqual([]);
    await page.click('.detail button.danger');
    await page.waitForSelector('dialog.confirm[open]');
    await shot(page, 'confirm-cancel');
    expect(await axe(page)).toEqual([]);
    await page.fill('#confirm-reason', 'from the dashboard test');
    await page.click('dialog.confirm button[type=submit]');
    await page.waitForSelector('[data-testid=notice]');
    await waitFor(`job ${key} cancelled in the simulated slurmctld`, () => engine(cluster).job(Number(id))?.state === 'CANCELLED', 10_000);
    // The detail follows the stream: the job is no longer PENDING there.
    await page.waitForFunction(() => !/PENDING/.test(document.querySelector('.detail .chip')?.textContent ?? 'PENDING'), undefined, { timeout: 15_000 });
  });

  it('nodes: grid and table, a node drained from the UI (with a reason) is drained in slurmctld, then resumed', async () => {
    const cluster = fleet.clusters[0].name;
    await page.goto(`${origin}/nodes?cluster=${cluster}`);
    await page.waitForSelector('button.tile');
    await shot(page, 'nodes-grid');
    expect(await axe(page)).toEqual([]);
    const name = (await page.getAttribute('button.tile:not(.s-drain):not(.s-bad)', 'data-node'))!;
    await page.click(`button.tile[data-node="${name}"]`);
    await page.waitForSelector('.detail button:has-text("Drain")');
    await shot(page, 'node-detail');
    expect(await axe(page)).toEqual([]);
    await page.click('.detail button:has-text("Drain")');
    await page.fill('#confirm-reason', 'dashboard test drain');
    await page.click('dialog.confirm button[type=submit]');
    await waitFor(`${name} drained in the simulated slurmctld`, () => engine(cluster).node(name)?.drain === true, 10_000);
    expect(engine(cluster).node(name)?.reason).toBe('dashboard test drain');
    await page.waitForFunction((n) => document.querySelector(`button.tile[data-node="${n}"]`)?.classList.contains('s-drain'), name, { timeout: 15_000 });
    await page.click('.detail button:has-text("Resume")');
    await page.click('dialog.confirm button[type=submit]');
    await waitFor(`${name} resumed`, () => engine(cluster).node(name)?.drain === false, 10_000);
    await page.goto(`${origin}/nodes?cluster=${cluster}&view=table`);
    await page.waitForSelector('table.nodes tbody tr');
    await shot(page, 'nodes-table');
    expect(await axe(page)).toEqual([]);
  });

  it('live: a change in slurmctld reaches the open page without a reload', async () => {
    const cluster = fleet.clusters[1].name;
    await page.goto(`${origin}/nodes?cluster=${cluster}`);
    await page.waitForSelector('button.tile');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const name = (await page.getAttribute('button.tile:not(.s-drain):not(.s-bad)', 'data-node'))!;
    engine(cluster).drain(name, 'drained behind the page');
    await page.waitForFunction((n) => document.querySelector(`button.tile[data-node="${n}"]`)?.classList.contains('s-drain'), name, { timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    engine(cluster).resume(name);
  });

  it("a job the hub no longer lists opens with the hub's answer and its runs from the job history", async () => {
    const cluster = fleet.clusters[0].name;
    const id = 990_001;
    const run = (submit: string, end: string, state: string, exit: number) => ({
      cluster, job_id: id, submit_time: submit, start_time: submit, end_time: end, name: 'old-run', user: 'alice', account: 'physics', partition: 'batch', qos: 'normal',
      state, exit_code: exit, exit_signal: 0, alloc_tres: 'cpu=4,mem=8G,node=1', cpus: 4, gpus: 0, memory_mb: 8192, node_count: 1, node_list: 'cn007', nodes: ['cn007'],
    });
    // Two runs of one job (it was requeued once), as `sfleet import history` sends them.
    const imported = await page.evaluate(async (jobs) => {
      const csrf = decodeURIComponent(/(?:^|; )sfleet_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '');
      const res = await fetch('/api/v1/history/import', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ jobs }) });
      return res.status;
    }, [run('2026-01-05T10:00:00Z', '2026-01-05T11:00:00Z', 'NODE_FAIL', 0), run('2026-01-05T11:00:05Z', '2026-01-05T12:30:00Z', 'FAILED', 2)]);
    expect(imported).toBe(200);
    await page.goto(`${origin}/jobs/${cluster}/${id}`);
    await page.waitForSelector('[data-testid=job-gone][role=alert]');
    expect(await page.textContent('[data-testid=job-gone]')).toMatch(/not found: not in the queue the hub holds/);
    await page.waitForSelector('[data-testid=job-history] [data-run]');
    // Newest end first: the failed run, then the one the node failure ended.
    expect(await page.$$eval('[data-testid=job-history] [data-run]', (runs) => runs.map((r) => `${r.querySelector('.chip')?.textContent} ${r.querySelector('[data-testid=run-exit]')?.textContent}`))).toEqual(['FAILED 2', 'NODE_FAIL 0']);
    expect(await page.textContent('[data-testid=job-history]')).toContain('cpu=4,mem=8G,node=1');
    expect(await axe(page)).toEqual([]);
    await shot(page, 'job-detail-history-only');
  });

  it('dark theme and the keyboard help pass the accessibility check too', async () => {
    await page.goto(`${origin}/`);
    await page.waitForSelector('article[data-cluster] .bar');
    await page.click('button:has-text("Dark")');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await shot(page, 'overview-dark');
    expect(await axe(page)).toEqual([]);
    await page.goto(`${origin}/jobs`);
    await page.waitForSelector('[data-job]');
    await shot(page, 'jobs-dark');
    expect(await axe(page)).toEqual([]);
    await page.keyboard.press('?');
    await page.waitForSelector('dialog.help[open]');
    await shot(page, 'help');
    expect(await axe(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await page.click('button:has-text("Light")');
  });

  it(`a project_manager sees only account ${PM_ACCOUNT}'s jobs and no action it may not take`, async () => {
    const context: BrowserContext = browser.context;
    await context.clearCookies();
    await page.goto(`${origin}/jobs`);
    await login(page, 'pat');
    await page.waitForURL(`${origin}/jobs`);
    await page.waitForSelector('[data-job]');
    const accounts = await page.$$eval('[data-job] [role=cell]:nth-child(4)', (els) => els.map((e) => e.textContent));
    expect(new Set(accounts)).toEqual(new Set([PM_ACCOUNT]));
    const actions = await page.$$eval('[data-job] .actions button', (els) => els.map((e) => e.textContent));
    expect(actions.length).toBeGreaterThan(0);
    expect(new Set(actions)).toEqual(new Set(['cancel']));
    const count = Number((await page.textContent('[data-testid=job-count]'))!.replace(/\D/g, ''));
    const physics = fleet.simulators.reduce((n, s) => n + [...s.engine.jobs()].filter((j) => j.account === PM_ACCOUNT).length, 0);
    expect(Math.abs(count - physics)).toBeLessThan(physics * 0.2 + 10);
    await shot(page, 'jobs-project-manager');
    // Another account's job asked for by its URL: the hub answers as if it did not exist, and no action is offered.
    const c0 = fleet.clusters[0].name;
    const other = [...engine(c0).jobs()].find((j) => j.account !== PM_ACCOUNT && j.arrayJobId === 0 && (j.state === 'PENDING' || j.state === 'RUNNING'))!;
    await page.goto(`${origin}/jobs/${c0}/${other.id}`);
    await page.waitForSelector('.detail [role=alert]');
    expect(await page.textContent('.detail [role=alert]')).toMatch(/no job|not found/i);
    expect(await page.$$('.detail button:not([aria-label="Close job detail"])')).toHaveLength(0);
    // The navigation offers only pages the gate lets the project_manager read: no alerts, quotas or audit log.
    const asked = page.waitForResponse((r) => r.url().includes('/api/v1/auth/can-i') && r.url().includes('resource=audit'));
    await page.goto(`${origin}/nodes`);
    await asked;
    await page.waitForSelector('button.tile');
    expect(await page.$$eval('nav[aria-label=Pages] a', (els) => els.map((e) => e.textContent))).toEqual(['Overview', 'Jobs', 'Nodes']);
    await page.click('button.tile');
    await page.waitForSelector('.detail');
    expect(await page.$$('.detail .buttons button')).toHaveLength(0);
    expect(await page.textContent('.detail')).toContain('You may not drain or resume this node.');
    // The gate's refusal, as the dashboard shows it, when a command is sent anyway.
    const refusal = await page.evaluate(async (c) => {
      // As the dashboard sends it: with the session's CSRF token, so the refusal is the RBAC gate's.
      const csrf = /(?:^|; )sfleet_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '';
      const res = await fetch(`/api/v1/nodes/${c}/x/drain`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) }, body: '{"reason":"no"}' });
      return { status: res.status, body: (await res.json()) as { detail: string } };
    }, fleet.clusters[0].name);
    expect(refusal.status).toBe(403);
    expect(refusal.body.detail).toMatch(/pat .* may not/);
  });

  it('a forged cross-site POST from a page on another port of this host carries the session cookie and is refused; the job is not cancelled', async () => {
    await browser.context.clearCookies();
    await page.goto(`${origin}/jobs?state=PENDING`);
    await login(page, 'olivia');
    await page.waitForSelector('[data-job]:has(button[aria-label^="cancel"])');
    const key = (await page.getAttribute('[data-job]:has(button[aria-label^="cancel"])', 'data-job'))!;
    const [cluster, id] = key.split('/');
    const target = `${origin}/api/v1/jobs/${cluster}/${id}/cancel`;
    // Same site (localhost, https), another origin: SameSite=Strict does not keep the cookie back.
    const evil = createServer({ cert: readFileSync(pki.hub.cert), key: readFileSync(pki.hub.key) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>You won</title><script>fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' })</script>`);
    });
    const evilPort = await freePort();
    await new Promise<void>((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
    try {
      const attacker = await browser.newPage();
      const answered = attacker.waitForResponse((r) => r.url() === target);
      await attacker.goto(`https://localhost:${evilPort}/`);
      const res = await answered;
      // 403, not 401: the browser did send the session cookie along, and the hub refused the origin.
      expect(res.status()).toBe(403);
      // An opaque (no-cors) answer's body may not be kept by the browser: not waited for long.
      const body = await Promise.race([res.text(), new Promise<undefined>((r) => setTimeout(r, 3_000, undefined))]).catch(() => undefined);
      if (body !== undefined) expect(body).toContain('SF_API_CROSS_SITE');
      await attacker.close();
    } finally {
      evil.closeAllConnections();
      await new Promise((resolve) => evil.close(resolve));
    }
    // Nothing reached the cluster: the job was not cancelled (it may have started meanwhile).
    await new Promise((r) => setTimeout(r, 2_000));
    expect(engine(cluster).job(Number(id))?.state).not.toBe('CANCELLED');
  });
});
