// The dashboard's submit form and the job detail's history, in a real Chromium against a hub and
// agent on the real Slurm 22.05 (scripts/slurm/start.sh). A tenant member (tess, submitting as
// alice) fills the form: a refused value is shown beside its input (by the route's schema and by
// the spec check), a job over the tenant's quota is refused naming the limit, and a good job opens
// its detail, reaches slurmctld's queue as alice and, once it has failed (exit 3), shows its
// history record as sacct has it. A viewer is offered no submit form. axe-core on the form and the
// detail; screenshots go to dashboard-screenshots/. Run it under `flock
// /tmp/sfleet-slurm-helper.lock` when other work shares the machine's Slurm.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HeadlessChromium } from './harness/chromium.js';
import { axeViolations as axe, loginOnPage, screenshot as shot } from './harness/dashboard-page.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { registerSecret, testLogger } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { ensureSlurm, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { startTestAgent } from './harness/test-agent.js';

const PASSWORD = 'dashboard submit test 2026';
// alice has a uid below 1000 on this machine: the hub and agent lower min_uid to 900 (as test/submit.test.ts does).
const MIN_UID = 900;
const TAG = `dashsub${process.pid}`;
let slurm: SlurmEnv;
let pki: TestPki;
let hub: LoginHub;
let agent: RunningAgent;
let browser: HeadlessChromium;
let page: Page;
let origin: string;

/** Our jobs in Slurm's queue: "id user account state" lines. */
async function queue(): Promise<string[]> {
  const out = await slurmCli(slurm, 'squeue', ['-h', '-t', 'all', '-n', TAG, '-o', '%i %u %a %T']);
  return out.split('\n').filter((l) => l.trim() !== '');
}

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  // The agent runs in this process and reads the history with sacct: it needs the test Slurm's config.
  process.env.SLURM_CONF ??= slurm.cliEnv.SLURM_CONF;
  pki = await makePki();
  const dir = mkdtempSync(join(tmpdir(), `dashboard-submit-${process.pid}-`));
  hub = new LoginHub(join(dir, 'hub'), pki, {
    rbac: {
      roles: { researcher: { permissions: ['cluster:read', 'jobs:read,create,cancel', 'watch:read', 'history:read'] } },
      bindings: [
        { group: 'science', role: 'researcher' },
        { group: 'viewers', role: 'viewer' },
      ],
    },
    submit: { min_uid: MIN_UID, user_map: { tess: 'alice' } },
    multi_tenancy: {
      enabled: true,
      operators: { users: ['vera'] },
      tenants: { science: { clusters: [slurm.cluster], accounts: ['research'], users: ['tess'], resources: { max_cpus: 64 } } },
    },
    history: { backfill_interval: '2s', backfill_margin: '2m', initial_lookback: '10m', max_window: '5m', threads: 1, memory_limit: '256MB' },
  });
  hub.httpPort = await freePort();
  hub.grpcPort = await freePort();
  origin = `https://localhost:${hub.httpPort}`;
  registerSecret(PASSWORD, 'dashboard submit test password');
  const env = { ...process.env, SFLEET_USER_PASSWORD: PASSWORD };
  await sfleet(['user', 'add', 'tess', '--group', 'science', '--data-dir', hub.dataDir], env);
  await sfleet(['user', 'add', 'vera', '--group', 'viewers', '--data-dir', hub.dataDir], env);
  await hub.start();
  agent = await startTestAgent(
    {
      cluster: slurm.cluster,
      endpoints: [hub.grpcAddress],
      tls: await pki.agent(slurm.cluster),
      slurm: { source: 'rest', endpoints: [slurm.restUrl], auth: { user: slurm.restUser, token: slurm.jwt } },
      pollInterval: '1s',
      extra: { submit: { min_uid: MIN_UID } },
    },
    { logger: testLogger('agent-dashboard-submit') },
  );
  browser = await HeadlessChromium.launch([pki.hub.cert]);
  page = await browser.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
}, 240_000);

afterAll(async () => {
  if (slurm) {
    const ids = (await queue().catch(() => [])).map((l) => l.split(' ')[0]);
    if (ids.length) await slurmCli(slurm, 'scancel', ids).catch(() => {});
  }
  await browser?.close();
  await agent?.close();
  await hub?.stop();
});

async function loginAs(user: string, path: string): Promise<void> {
  await browser.context.clearCookies();
  await page.goto(`${origin}${path}`);
  await loginOnPage(page, user, PASSWORD);
  await page.waitForURL(`${origin}${path}`);
}

describe('submitting from the dashboard (real Slurm 22.05)', () => {
  it('a viewer is offered no submit form', async () => {
    await loginAs('vera', '/jobs');
    await page.waitForSelector('[data-testid=job-count]:not(:has-text("Loading"))', { timeout: 30_000 });
    // The gate's answer decides: the viewer may read jobs, not create them.
    expect(await page.evaluate(async () => (await (await fetch('/api/v1/auth/can-i?verb=create&resource=jobs')).json()).allowed)).toBe(false);
    expect(await page.locator('button:has-text("Submit job")').count()).toBe(0);
    await page.goto(`${origin}/jobs/new`);
    await page.waitForSelector('[data-testid=job-count]:not(:has-text("Loading"))');
    expect(await page.locator('#submit-title').count()).toBe(0);
  });

  it('shows refusals by field and the quota refusal; a good job opens its detail, runs as alice, and its history record shows once it ended', async () => {
    await loginAs('tess', '/jobs');
    await page.click('button:has-text("Submit job")', { timeout: 30_000 });
    await page.waitForURL(/\/jobs\/new/);
    await page.waitForSelector(`#submit-cluster option[value="${slurm.cluster}"]`, { state: 'attached', timeout: 20_000 });
    await page.fill('#submit-account', 'research');
    await page.fill('#submit-job_name', TAG);
    await page.fill('#submit-script', 'sleep 2; exit 3');
    await page.fill('#submit-chdir', '/tmp');
    await page.fill('#submit-output', '/dev/null');

    // Refused by the route's schema: shown beside the tasks input, nothing else marked.
    await page.fill('#submit-ntasks', 'two');
    await page.click('.submit button[type=submit]');
    await page.waitForSelector('[data-field-error=ntasks]');
    expect(await page.getAttribute('#submit-ntasks', 'aria-invalid')).toBe('true');
    expect(await page.locator('[data-field-error]').count()).toBe(1);
    expect(await axe(page)).toEqual([]);
    await shot(page, 'jobs-submit-field-error');

    // Refused by the spec check (the same on the agent): beside the partition input.
    await page.fill('#submit-ntasks', '1');
    await page.fill('#submit-partition', 'no such');
    await page.click('.submit button[type=submit]');
    await page.waitForSelector('[data-field-error=partition]');
    expect(await page.textContent('[data-field-error=partition]')).toContain('partition: invalid value');
    expect(await page.locator('[data-field-error=ntasks]').count()).toBe(0);

    // Over the tenant's max_cpus (64): refused before Slurm sees it, naming the limit and the request.
    await page.fill('#submit-partition', '');
    await page.fill('#submit-ntasks', '100');
    await page.click('.submit button[type=submit]');
    const refusal = await page.waitForSelector('[data-testid=submit-refusal]');
    expect(await refusal.textContent()).toMatch(/Over quota: the tenant science may use 64 \(max_cpus\); \d+ in use.*this job asks for 100/);
    expect(await axe(page)).toEqual([]);
    await shot(page, 'jobs-submit-quota');
    expect(await queue()).toEqual([]);

    // Within quota: the hub answers with Slurm's id and the detail of the new job opens.
    await page.fill('#submit-ntasks', '1');
    await page.click('.submit button[type=submit]');
    await page.waitForURL(new RegExp(`/jobs/${slurm.cluster}/\\d+`), { timeout: 30_000 });
    const id = /\/jobs\/[^/]+\/(\d+)/.exec(new URL(page.url()).pathname)![1];
    expect(await page.textContent('[data-testid=notice]')).toContain(`Job ${slurm.cluster}/${id} submitted`);
    const lines = await queue();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${id} alice research `));

    // The job reaches the hub (watch or reload) and, once it has failed, its run is read from
    // slurmdbd into the history: the detail shows it with sacct's exit code.
    await page.waitForSelector(`#job-detail-title:has-text("Job ${slurm.cluster}/${id}")`);
    const run = await page.waitForSelector('[data-testid=job-history] [data-run]', { timeout: 120_000 });
    expect(await run.textContent()).toContain('FAILED');
    expect(await page.textContent('[data-testid=job-history] [data-testid=run-exit]')).toBe('3');
    expect(await page.textContent('[data-testid=job-history]')).toContain('alice / research');
    const sacct = await slurmCli(slurm, 'sacct', ['-n', '-P', '-X', '-j', id, '-o', 'State,ExitCode']);
    expect(sacct.trim()).toBe('FAILED|3:0');
    expect(await axe(page)).toEqual([]);
    await shot(page, 'job-detail-history');

    // The new job is a row of the jobs table too (Slurm keeps it listed for MinJobAge).
    await page.goto(`${origin}/jobs?user=alice`);
    await page.waitForSelector(`[data-job="${slurm.cluster}/${id}"]`, { timeout: 20_000 });
  });
});
