// The dashboard's alerts, quotas and audit pages in a real Chromium against a real hub process
// fed by a simulated cluster: alerts posted to the Alertmanager intake are listed and filtered,
// acknowledged from the UI at phone width (the API then shows who acknowledged), silenced from the
// UI (the silence is in GET /api/v1/silences); new alerts, acks and silences made elsewhere appear live; quotas show the hub's usage, schedule and history (times in UTC or local); the audit
// log is searched with its filters in the URL and paged. A session ended mid-use returns to login
// and back to the same URL. axe-core on every page; screenshots go to dashboard-screenshots/.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { startSimulatedFleet, type RunningFleet } from '../sim/index.js';
import { webhookReceiver, type HttpReceiver } from './harness/alert-receivers.js';
import { HeadlessChromium } from './harness/chromium.js';
import { axeViolations as axe, loginOnPage, screenshot as shot } from './harness/dashboard-page.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { registerSecret, testLogger } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const PASSWORD = 'dashboard pages test 2026';
const HOOK_SECRET = 'dashboard-pages-webhook-secret';

let pki: TestPki;
let hub: LoginHub;
let fleet: RunningFleet;
let agent: RunningAgent;
let hook: HttpReceiver;
let browser: HeadlessChromium;
let page: Page;
let origin: string;
let cluster: string;

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  hook = await webhookReceiver(HOOK_SECRET).start();
  fleet = await startSimulatedFleet({ listen: '127.0.0.1:0', clusters: 1, namePrefix: 'pages', nodes: 16, jobs: 200, tickMs: 1000, token: 'sim-token', log: () => undefined });
  cluster = fleet.clusters[0].name;
  const dir = mkdtempSync(join(tmpdir(), `dashboard-pages-${process.pid}-`));
  registerSecret(HOOK_SECRET, 'webhook secret (dashboard pages)');
  hub = new LoginHub(join(dir, 'hub'), pki, {
    rbac: {
      bindings: [
        { group: 'ops', role: 'admin' },
        { group: 'audit', role: 'auditor' },
      ],
    },
    alerting: {
      evaluation_interval: '1s',
      group_wait: '0s',
      channels: [{ type: 'webhook', url: `${hook.url}/hook`, secret: HOOK_SECRET }],
      policies: { critical: { escalation_time: '10m', channels: ['webhook'] }, warning: { escalation_time: '10m', channels: ['webhook'] } },
    },
    multi_tenancy: {
      enabled: true,
      operators: { groups: ['ops', 'audit'] },
      history_interval: '10s',
      tenants: {
        physics: {
          clusters: [cluster],
          accounts: ['physics'],
          resources: { max_jobs: 60, max_cpus: 256 },
          account_resources: { physics: { max_jobs: 40 } },
          // In force all the time (each firing lasts past the next), so the page names it.
          schedules: [{ name: 'always-on', cron: '* * * * *', duration: '2m', resources: { max_jobs: 80 } }],
        },
        chemistry: { clusters: [cluster], accounts: ['chemistry'], resources: { max_jobs: 10 }, schedules: [{ name: 'nightly', cron: '0 3 * * *', duration: '1h', resources: { max_jobs: 30 } }] },
      },
    },
  });
  hub.httpPort = await freePort();
  hub.grpcPort = await freePort();
  origin = `https://localhost:${hub.httpPort}`;
  registerSecret(PASSWORD, 'dashboard pages test password');
  const env = { ...process.env, SFLEET_USER_PASSWORD: PASSWORD };
  await sfleet(['user', 'add', 'olivia', '--group', 'ops', '--data-dir', hub.dataDir], env);
  await sfleet(['user', 'add', 'audrey', '--group', 'audit', '--data-dir', hub.dataDir], env);
  await hub.start();
  agent = await startTestAgent(
    { cluster, endpoints: [hub.grpcAddress], tls: await pki.agent(cluster), slurm: { source: 'rest', endpoints: [fleet.clusters[0].url], auth: { user: 'root', token: 'sim-token' }, simulator: true }, pollInterval: '500ms' },
    { logger: testLogger(`agent-${cluster}`) },
  );
  browser = await HeadlessChromium.launch([pki.hub.cert]);
  page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await agent?.close();
  await fleet?.close();
  await hub?.stop();
  await hook?.close();
});

const login = (p: Page, user: string): Promise<void> => loginOnPage(p, user, PASSWORD);


/** The hub API from inside the page, as the dashboard calls it: session cookie plus CSRF header on mutations. */
async function apiCall<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  return page.evaluate(
    async ([m, u, b]) => {
      const csrf = /(?:^|; )sfleet_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '';
      const res = await fetch(u as string, { method: m as string, headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) }, ...(b === undefined ? {} : { body: JSON.stringify(b) }) });
      return { status: res.status, body: (await res.json().catch(() => null)) as T };
    },
    [method, path, body] as const,
  );
}

const GPU = '[data-alert]:has(h2:text-is("GpuEccErrors"))';
const SCRATCH = '[data-alert]:has(h2:text-is("ScratchAlmostFull"))';

type AlertAnswer = { fingerprint: string; labels: Record<string, string>; state: string; groups: { acked_by: string | null; channels_notified: string[] }[] };

describe('alerts, quotas and audit pages in Chromium', () => {
  it('alerts from the intake are listed with their escalation, filtered by the URL; an ack from a phone takes two taps and the API shows it', async () => {
    await waitFor('cluster ingested', async () => (await hub.request('GET', '/readyz')).status === 200, 30_000);
    await page.goto(`${origin}/alerts`);
    await login(page, 'olivia');
    await page.waitForURL(`${origin}/alerts`);
    const posted = await apiCall('POST', '/api/v2/alerts', [
      { labels: { alertname: 'GpuEccErrors', cluster, severity: 'critical', node: 'gpu-07' }, annotations: { summary: 'ECC errors on gpu-07' } },
      { labels: { alertname: 'ScratchAlmostFull', cluster, severity: 'warning' }, annotations: { summary: '/scratch is 93% full' } },
    ]);
    expect(posted.status).toBe(200);
    // Both are paged to the webhook: their groups have an escalation step to show.
    await waitFor('both alerts notified', async () => {
      const r = await apiCall<{ items: AlertAnswer[] }>('GET', '/api/v1/alerts?state=firing');
      return r.body.items.filter((a) => a.groups.some((g) => g.channels_notified.length > 0)).length === 2;
    }, 20_000);
    await page.reload();
    await page.waitForSelector(`${GPU} [data-testid=escalation]`);
    // The simulated cluster may raise built-in alerts of its own: ours are among those listed.
    expect(await page.$$eval('[data-alert] h2', (els) => els.map((e) => e.textContent))).toEqual(expect.arrayContaining(['GpuEccErrors', 'ScratchAlmostFull']));
    expect(await page.textContent(`${GPU} [data-testid=escalation]`)).toMatch(/Escalating: critical, step \d+ to webhook/);
    expect(await page.textContent(GPU)).toContain('ECC errors on gpu-07');
    await shot(page, 'alerts');
    expect(await axe(page)).toEqual([]);

    // The severity filter goes into the URL; a shared URL shows the same list.
    await page.selectOption('label:has-text("Severity") select', 'critical');
    await page.waitForURL(/severity=critical/);
    await page.waitForFunction(() => !Array.from(document.querySelectorAll('[data-alert] h2')).some((e) => e.textContent === 'ScratchAlmostFull'));
    expect(await page.$$eval('[data-alert] header .chip:nth-of-type(2)', (els) => [...new Set(els.map((e) => e.textContent))])).toEqual(['critical']);

    // At 375 px: tap Acknowledge, tap the confirmation.
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${origin}/alerts?state=firing&severity=critical`);
    await page.waitForSelector(`${GPU} button:has-text("Acknowledge")`);
    await shot(page, 'alerts-phone');
    expect(await axe(page)).toEqual([]);
    const fp = (await page.getAttribute(GPU, 'data-alert'))!;
    // The button is a full touch target inside the phone's width.
    const box = (await page.locator(`${GPU} button:has-text("Acknowledge")`).boundingBox())!;
    expect(box.height).toBeGreaterThanOrEqual(44);
    expect(box.x + box.width).toBeLessThanOrEqual(375);
    await page.click(`${GPU} button:has-text("Acknowledge")`);
    await page.click('dialog.confirm button[type=submit]');
    await page.waitForSelector('[data-testid=notice]:has-text("Acknowledged: GpuEccErrors")');
    await page.waitForSelector(`[data-alert="${fp}"] :text("Acknowledged by olivia")`);
    expect(await page.$$(`[data-alert="${fp}"] button:has-text("Acknowledge")`)).toHaveLength(0);
    await shot(page, 'alerts-phone-acked');
    const after = await apiCall<{ items: AlertAnswer[] }>('GET', '/api/v1/alerts?severity=critical');
    expect(after.body.items.find((a) => a.fingerprint === fp)?.groups.every((g) => g.acked_by === 'olivia')).toBe(true);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('a silence made from an alert card (matchers, duration, comment) is in GET /api/v1/silences and mutes the alert', async () => {
    await page.goto(`${origin}/alerts?severity=warning`);
    await page.waitForSelector(`${SCRATCH} button:has-text("Silence")`);
    await page.click(`${SCRATCH} button:has-text("Silence")`);
    expect(await page.inputValue('#silence-matchers')).toBe(`alertname="ScratchAlmostFull"\ncluster="${cluster}"`);
    await page.selectOption('#silence-duration', { label: '1 day' });
    await page.fill('#silence-comment', 'scratch purge scheduled tonight');
    await page.click('button:has-text("Add silence")');
    await page.waitForSelector('[data-testid=silence-result].notice');
    const silences = await apiCall<{ items: { id: string; matchers: string[]; comment: string; created_by: string; ends_at: string }[] }>('GET', '/api/v1/silences');
    const mine = silences.body.items.find((s) => s.comment === 'scratch purge scheduled tonight');
    expect(mine).toMatchObject({ matchers: ['alertname="ScratchAlmostFull"', `cluster="${cluster}"`], created_by: 'olivia' });
    const hours = (Date.parse(mine!.ends_at) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23);
    expect(hours).toBeLessThanOrEqual(24);
    await page.waitForSelector(`tr[data-silence="${mine!.id}"] button:has-text("Expire")`);
    await page.waitForSelector(`${SCRATCH} :text("Silenced by ${mine!.id}")`, { timeout: 15_000 });
    await shot(page, 'alerts-silenced');
    expect(await axe(page)).toEqual([]);
  });

  it('the alerts page follows the watch stream: a new alert appears, is notified, and an ack made elsewhere shows, all without a reload', async () => {
    const FAN = '[data-alert]:has(h2:text-is("NodeFanFailure"))';
    await page.goto(`${origin}/alerts?state=firing`);
    await page.waitForSelector('[data-alert]');
    await page.waitForSelector('[data-testid=watch-state]:has-text("Live")');
    // Gone if the page reloads or navigates: what follows must happen in this very document.
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    expect(await page.$$(FAN)).toHaveLength(0);
    const posted = await apiCall('POST', '/api/v2/alerts', [{ labels: { alertname: 'NodeFanFailure', cluster, severity: 'critical', node: 'c-03' }, annotations: { summary: 'fan 2 failed on c-03' } }]);
    expect(posted.status).toBe(200);
    // Well before the 10 s the page used to list again at: the alert_firing event brought it.
    await page.waitForSelector(FAN, { timeout: 3_000 });
    expect(await page.textContent(FAN)).toContain('fan 2 failed on c-03');
    // Its first notification is not an event: the page looks again while it waits for one.
    await page.waitForSelector(`${FAN} [data-testid=escalation]:has-text("Escalating: critical")`, { timeout: 20_000 });
    const fp = (await page.getAttribute(FAN, 'data-alert'))!;
    // Acknowledged through the API, not this page's buttons: the alert_acknowledged event updates the card.
    const acked = await apiCall('POST', `/api/v1/alerts/${encodeURIComponent(fp)}/ack`, {});
    expect(acked.status).toBe(200);
    await page.waitForSelector(`[data-alert="${fp}"] :text("Acknowledged by olivia")`, { timeout: 3_000 });
    expect(await page.$$(`[data-alert="${fp}"] button:has-text("Acknowledge")`)).toHaveLength(0);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await shot(page, 'alerts-live-acked');
  });

  it('a silence created and then expired elsewhere shows on the alerts page live (silence_* events on the watch stream)', async () => {
    const FAN = '[data-alert]:has(h2:text-is("NodeFanFailure"))';
    await page.goto(`${origin}/alerts?state=firing`);
    await page.waitForSelector(FAN);
    await page.waitForSelector('[data-testid=watch-state]:has-text("Live")');
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const made = await apiCall<{ id: string }>('POST', '/api/v1/silences', { matchers: ['alertname="NodeFanFailure"'], ends_at: new Date(Date.now() + 3_600_000).toISOString(), comment: 'fan swap at 14:00' });
    expect(made.status).toBe(201);
    const id = made.body.id;
    // The silence list is read only on its events (no timer): the row proves the stream brought it.
    await page.waitForSelector(`tr[data-silence="${id}"]:has-text("fan swap at 14:00") button:has-text("Expire")`, { timeout: 5_000 });
    await page.waitForSelector(`${FAN} :text("Silenced by ${id}")`, { timeout: 5_000 });
    expect((await apiCall('DELETE', `/api/v1/silences/${id}`, {})).status).toBe(200);
    await page.waitForSelector(`tr[data-silence="${id}"].muted`, { timeout: 5_000 });
    expect(await page.$$(`tr[data-silence="${id}"] button:has-text("Expire")`)).toHaveLength(0);
    await page.waitForSelector(`${FAN} :text("Silenced by")`, { state: 'detached', timeout: 5_000 });
    expect(await page.$$(FAN)).toHaveLength(1);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  });

  it('quotas: every limit of the tenant with its usage as the hub counts it, the schedule in force, and its history as a chart (range in the URL)', async () => {
    await page.goto(`${origin}/quotas`);
    await page.waitForSelector('article[data-tenant="physics"] [data-limit]');
    const api = await apiCall<{ items: { tenant: string; schedule: { active: string | null; next_switch_at: string | null }; limits: { scope: string; subject: string; limit: string; value: number; usage: number }[] }[] }>('GET', '/api/v1/quotas');
    const physics = api.body.items.find((t) => t.tenant === 'physics')!;
    expect(physics.schedule).toEqual({ active: 'always-on', next_switch_at: null });
    expect(await page.textContent('article[data-tenant="physics"] [data-testid=schedule]')).toBe('Schedule in force: always-on · no switch ahead');
    // The other tenant's nightly set: in force or not, its next switch is shown as the hub computes it (UTC).
    const chemistry = api.body.items.find((t) => t.tenant === 'chemistry')!;
    const next = chemistry.schedule.next_switch_at!;
    expect(await page.textContent('article[data-tenant="chemistry"] [data-testid=schedule]')).toBe(
      `Schedule in force: ${chemistry.schedule.active ?? 'default limits'} · next switch ${next.slice(0, 19).replace('T', ' ')} UTC`,
    );
    // One bar per limit line of the answer, each "usage / limit".
    const bars = await page.$$eval('article[data-tenant="physics"] [data-limit]', (els) =>
      els.map((e) => ({ scope: e.closest('[data-scope]')!.getAttribute('data-scope'), limit: e.getAttribute('data-limit'), text: e.querySelector('.bar-label span:last-child')!.textContent })),
    );
    expect(bars.map((b) => `${b.scope}/${b.limit}`).sort()).toEqual(physics.limits.map((l) => `${l.scope}/${l.limit}`).sort());
    const jobs = bars.find((b) => b.scope === 'tenant' && b.limit === 'max_jobs')!;
    expect(jobs.text).toMatch(/^\d+ \/ 80 \(\d+%\)$/);

    // Under each bar its history: the leader samples every 10 s; the chart draws what the history route answers.
    type History = { sampling: boolean; items: { tenant: string; scope: string; subject: string; limit: string; points: { at: string; usage: number; value: number }[] }[] };
    const CHART = 'article[data-tenant="physics"] [data-scope="tenant"] [data-limit="max_jobs"] svg.history';
    await waitFor('two samples of physics', async () => ((await apiCall<History>('GET', '/api/v1/quotas/history?tenant=physics&scope=tenant&limit=max_jobs')).body.items[0]?.points.length ?? 0) >= 2, 40_000);
    await page.goto(`${origin}/quotas?range=6h`);
    await page.waitForSelector(`${CHART}[data-points]:not([data-points="1"])`, { timeout: 20_000 });
    const history = await apiCall<History>('GET', '/api/v1/quotas/history?since=6h');
    expect(history.body.sampling).toBe(true);
    // Only the tenant's own lines, each with the limit in force at its samples.
    const line = history.body.items.find((h) => h.tenant === 'physics' && h.scope === 'tenant' && h.limit === 'max_jobs')!;
    expect(line.points.every((p) => p.value === 80)).toBe(true);
    expect(history.body.items.map((h) => `${h.tenant}/${h.scope}/${h.limit}`)).toEqual(expect.arrayContaining(['physics/account/max_jobs', 'chemistry/tenant/max_jobs']));
    const chart = await page.$eval(CHART, (e) => ({ last: Number(e.getAttribute('data-last-usage')), limit: Number(e.getAttribute('data-last-value')), points: Number(e.getAttribute('data-points')), label: e.getAttribute('aria-label') }));
    expect(chart.limit).toBe(80);
    expect(chart.points).toBeGreaterThanOrEqual(2);
    // The page may have read the history a sample before this answer: its last point is one the hub kept.
    expect(line.points.map((p) => p.usage)).toContain(chart.last);
    expect(chart.label).toMatch(/^Jobs of tenant physics, last 6h: \d+ samples, peak \d+, last \d+ of 80$/);
    expect(await page.inputValue('#quota-range')).toBe('6h');
    await shot(page, 'quotas');

    // Times are in UTC; the header's switch shows them in the browser's zone (here UTC+5:30) and back.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Asia/Kolkata' });
    const SWITCH_LINE = 'article[data-tenant="chemistry"] [data-testid=schedule]';
    expect(await page.textContent(SWITCH_LINE)).toContain(`next switch ${next.slice(0, 19).replace('T', ' ')} UTC`);
    await page.click('button[aria-label="Times in UTC; switch"]');
    const kolkata = new Date(Date.parse(next) + 5.5 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    await page.waitForSelector(`${SWITCH_LINE}:has-text("next switch ${kolkata}")`);
    expect(await page.textContent(SWITCH_LINE)).not.toContain('UTC');
    await page.click('button[aria-label="Times in local time; switch"]');
    await page.waitForSelector(`${SWITCH_LINE}:has-text("${next.slice(0, 19).replace('T', ' ')} UTC")`);
    await cdp.detach();
    expect(await axe(page)).toEqual([]);
  });

  it('audit: an auditor searches by user and action (filters in the URL) and pages through the records', async () => {
    await browser.context.clearCookies();
    await page.goto(`${origin}/audit?user=olivia&action=alerts:*`);
    await login(page, 'audrey');
    await page.waitForURL((u) => u.pathname === '/audit' && u.searchParams.get('user') === 'olivia' && u.searchParams.get('action') === 'alerts:*');
    await page.waitForSelector('tr[data-seq]');
    expect(await page.inputValue('#audit-user')).toBe('olivia');
    const actions = await page.$$eval('tr[data-seq] td:nth-child(3)', (els) => els.map((e) => e.textContent));
    expect(actions).toContain('alerts:ack');
    expect(actions.every((a) => a?.startsWith('alerts:'))).toBe(true);
    expect(await page.$$eval('tr[data-seq] td:nth-child(2)', (els) => [...new Set(els.map((e) => e.textContent))])).toEqual(['olivia']);
    await shot(page, 'audit');
    expect(await axe(page)).toEqual([]);
    // The navigation offers the auditor the audit log, not the quotas it may not read.
    const nav = await page.$$eval('nav[aria-label=Pages] a', (els) => els.map((e) => e.textContent));
    expect(nav).toEqual(expect.arrayContaining(['Audit', 'Alerts']));
    expect(nav).not.toContain('Quotas');

    // Paging: olivia's records two a page (the page size is in the URL too); Next follows the cursor.
    const whole = await apiCall<{ items: { seq: number }[] }>('GET', '/api/v1/audit?user=olivia&limit=5000');
    expect(whole.body.items.length).toBeGreaterThan(4);
    await page.goto(`${origin}/audit?user=olivia&limit=2`);
    await page.waitForSelector('tr[data-seq]');
    const seqs = (): Promise<number[]> => page.$$eval('tr[data-seq]', (els) => els.map((e) => Number(e.getAttribute('data-seq'))));
    expect(await seqs()).toEqual(whole.body.items.slice(0, 2).map((r) => r.seq));
    await page.click('button:has-text("Next page")');
    await page.waitForURL(/cursor=\d+/);
    await page.waitForFunction((n) => Number(document.querySelector('tr[data-seq]')?.getAttribute('data-seq')) > n, whole.body.items[1].seq);
    expect(await seqs()).toEqual(whole.body.items.slice(2, 4).map((r) => r.seq));
    await page.click('button:has-text("First page")');
    await page.waitForURL((u) => !u.searchParams.has('cursor'));
    await page.waitForFunction((n) => Number(document.querySelector('tr[data-seq]')?.getAttribute('data-seq')) === n, whole.body.items[0].seq);
  });

  it('a session that ends mid-use (logged out elsewhere) returns to login, then back to the same URL', async () => {
    const url = `${origin}/alerts?state=firing&severity=warning`;
    await page.goto(url);
    await page.waitForSelector('[data-alert]');
    const session = (await browser.context.cookies()).find((c) => c.name === 'sfleet_session')!;
    expect((await hub.request('POST', '/api/v1/auth/logout', { headers: { authorization: `Bearer ${session.value}` } })).status).toBe(204);
    // The logout ends the page's watch stream; its reconnect meets the ended session.
    await login(page, 'audrey');
    await page.waitForURL(url);
    await page.waitForSelector('[data-alert]:has-text("ScratchAlmostFull")');
  });
});
