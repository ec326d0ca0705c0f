// The dashboard against the real Slurm 22.05 (scripts/slurm/start.sh): a job cancelled from the
// jobs page leaves slurmctld's queue, and a node drained from the nodes page shows DRAIN in
// `sinfo` (then resumed from the page: Slurm is left as found). Run it under
// `flock /tmp/sfleet-slurm-helper.lock` when other work shares the machine's Slurm.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HeadlessChromium } from './harness/chromium.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { registerSecret, testLogger } from './harness/run-logs.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { ensureSlurm, sbatchAs, slurmCli, squeueJson, type SlurmEnv } from './harness/slurm.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const PASSWORD = 'dashboard real slurm 2026';
const NODE = 'node3';
let slurm: SlurmEnv;
let pki: TestPki;
let hub: LoginHub;
let agent: RunningAgent;
let browser: HeadlessChromium;
let page: Page;
let origin: string;

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  pki = await makePki();
  const dir = mkdtempSync(join(tmpdir(), `dashboard-slurm-${process.pid}-`));
  hub = new LoginHub(join(dir, 'hub'), pki, { rbac: { bindings: [{ group: 'ops', role: 'operator' }] } });
  hub.httpPort = await freePort();
  hub.grpcPort = await freePort();
  origin = `https://localhost:${hub.httpPort}`;
  registerSecret(PASSWORD, 'dashboard test password');
  await sfleet(['user', 'add', 'olivia', '--group', 'ops', '--data-dir', hub.dataDir], { ...process.env, SFLEET_USER_PASSWORD: PASSWORD });
  await hub.start();
  agent = await startTestAgent(
    { cluster: slurm.cluster, endpoints: [hub.grpcAddress], tls: await pki.agent(slurm.cluster), slurm: { source: 'rest', endpoints: [slurm.restUrl], auth: { user: slurm.restUser, token: slurm.jwt } }, pollInterval: '1s' },
    { logger: testLogger('agent-dashboard-slurm') },
  );
  browser = await HeadlessChromium.launch([pki.hub.cert]);
  page = await browser.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${origin}/`);
  await page.waitForURL(/\/login\?next=/);
  await page.fill('#username', 'olivia');
  await page.fill('#password', PASSWORD);
  await page.click('#submit');
  await page.waitForSelector(`article[data-cluster="${slurm.cluster}"] .bar`, { timeout: 30_000 });
}, 240_000);

afterAll(async () => {
  // Leave Slurm as found, whatever happened above.
  if (slurm) {
    await slurmCli(slurm, 'scontrol', ['update', `nodename=${NODE}`, 'state=resume']).catch(() => {});
    await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'alice', '-n', 'dashboard-cancel']).catch(() => {});
  }
  await browser?.close();
  await agent?.close();
  await hub?.stop();
});

describe('the dashboard against the real Slurm 22.05', () => {
  it('a job cancelled from the jobs page leaves the Slurm queue', async () => {
    const id = await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'batch', '-J', 'dashboard-cancel', '--hold', '--wrap', 'sleep 300']);
    const key = `${slurm.cluster}/${id}`;
    await waitFor(`job ${id} at the hub`, async () => (await page.evaluate(async (u) => (await fetch(u)).status, `/api/v1/jobs/${slurm.cluster}/${id}`)) === 200, 20_000, 500);
    await page.goto(`${origin}/jobs?user=alice`);
    await page.waitForSelector(`[data-job="${key}"]`, { timeout: 20_000 });
    await page.click(`[data-job="${key}"] button[aria-label="cancel job ${key}"]`);
    await page.click('dialog.confirm button[type=submit]');
    await page.waitForSelector('[data-testid=notice]');
    await waitFor(`job ${id} gone from squeue`, async () => !(await squeueJson(slurm)).jobs.some((j) => j.job_id === id && !/CANCELLED/.test(JSON.stringify(j.job_state))), 20_000, 500);
    await page.waitForSelector(`[data-job="${key}"] .chip:text("CANCELLED"), [data-testid=job-count]:not(:has-text("Loading"))`);
  });

  it(`${NODE} drained from the nodes page shows DRAIN in sinfo, and resumes from it`, async () => {
    await page.goto(`${origin}/nodes?cluster=${slurm.cluster}&node=${NODE}`);
    await page.waitForSelector('.detail button:has-text("Drain")', { timeout: 20_000 });
    await page.click('.detail button:has-text("Drain")');
    await page.fill('#confirm-reason', 'dashboard real slurm');
    await page.click('dialog.confirm button[type=submit]');
    await waitFor('sinfo shows the drain', async () => /drain/i.test(await slurmCli(slurm, 'sinfo', ['-h', '-n', NODE, '-o', '%T'])), 20_000, 500);
    expect(await slurmCli(slurm, 'sinfo', ['-h', '-n', NODE, '-o', '%E'])).toContain('dashboard real slurm');
    await page.waitForSelector('.detail [data-testid=node-state]:has-text("DRAIN")', { timeout: 20_000 });
    await page.click('.detail button:has-text("Resume")');
    await page.click('dialog.confirm button[type=submit]');
    await waitFor('sinfo shows the node back', async () => !/drain/i.test(await slurmCli(slurm, 'sinfo', ['-h', '-n', NODE, '-o', '%T'])), 20_000, 500);
  });
});
