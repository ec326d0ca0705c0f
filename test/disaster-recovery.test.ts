// docs/disaster-recovery.md, followed step by step: a standalone hub with encryption at rest,
// history, tokens, a local user and an agent is backed up to an S3-compatible bucket (s3rver);
// then its machine is lost: the hub killed, its data directory, keyring, TLS key and hub.yaml
// deleted. From the recovery material the runbook says to keep elsewhere (the CA, the backup
// key, hub.yaml from configuration management, the bucket's credentials) a new hub is built:
// a new certificate from the kept CA, `sfleet backup restore` from the bucket, `sfleet audit
// verify`, start. The agent, which kept running, reconnects on its own and the hub shows what
// Slurm (here a scripted source) changed during the outage; tokens and the password work; the
// history is the same and every audit record the backup held is there, the chain verified.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { AtRest } from '../shared/crypto/index.js';
import type { HistoryJob } from '../shared/history/index.js';
import { writeHistoryRuns } from './harness/history-runs.js';
import { httpsCall } from './harness/hub-child.js';
import { freePort } from './harness/ports.js';
import { registerAuditDir, registerKeyring, registerSecret, testLogger } from './harness/run-logs.js';
import { S3_KEY, TestS3Server } from './harness/s3-server.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const BACKUP_KEY = Buffer.alloc(32, 9).toString('base64');
const PASSWORD = 'alice-dr-pw-7c21';
registerSecret(BACKUP_KEY, 'backup key (disaster-recovery test)');
registerSecret(PASSWORD, 'password of alice (disaster-recovery test)');

const T0 = Date.UTC(2026, 10, 28, 8);
const run = (job_id: number): HistoryJob => ({
  cluster: 'dr', job_id, submit_time: T0, start_time: T0 + 60_000, end_time: T0 + 3_600_000 + job_id * 1000, name: `job-${job_id}`,
  user: 'alice', account: 'research', partition: 'batch', qos: 'normal', state: 'COMPLETED', exit_code: 0, exit_signal: 0,
  alloc_tres: 'billing=2,cpu=2,mem=1G,node=1', cpus: 2, gpus: 0, memory_mb: 1024, node_count: 1, node_list: 'n1', nodes: ['n1'],
});

let work: string;
/** The recovery material kept elsewhere (runbook step 0): the CA and hub.yaml. */
let vault: string;
/** The hub's machine: data directory, keyring, certificates, hub.yaml. Lost in the disaster. */
let machine: string;
let s3: TestS3Server;
let hub: SfleetProcess | undefined;
let agent: RunningAgent | undefined;
let httpUrl: string;
let grpcAddress: string;
let hubEnv: NodeJS.ProcessEnv;
let cliEnv: NodeJS.ProcessEnv;
let opsToken: string;
const source = new ScriptedSource('dr');
const config = (): string => join(machine, 'hub.yaml');

async function startHub(): Promise<void> {
  hub = new SfleetProcess(['hub', '--config', config()], join(work, `hub-${Date.now()}.log`), hubEnv).start();
  await waitFor('the hub answers', async () => (await httpsCall(`${httpUrl}/readyz`, { ca: join(vault, 'ca', 'ca.pem'), timeoutMs: 2_000 }).catch(() => ({ status: 0 }))).status === 200, 90_000, 200);
}

const ops = (args: string[]): Promise<string> => sfleet([...args, '--token', opsToken], cliEnv);
const login = async (password: string): Promise<number> =>
  (await httpsCall(`${httpUrl}/api/v1/auth/login`, { method: 'POST', ca: join(vault, 'ca', 'ca.pem'), headers: { 'content-type': 'application/json' }, body: { username: 'alice', password }, timeoutMs: 10_000 })).status;
const jobIds = async (): Promise<number[]> => (JSON.parse(await ops(['jobs', '--cluster', 'dr', '-o', 'json'])) as { id: number }[]).map((j) => j.id).sort((a, b) => a - b);
const auditRecords = async (): Promise<{ seq: number; hash: string; action: string }[]> =>
  (await ops(['export', 'audit', '--format', 'ndjson'])).trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { seq: number; hash: string; action: string });

/** Runbook step 2: a hub certificate from the kept CA, placed where hub.yaml's tls: points. */
async function issueHubCertificate(): Promise<void> {
  await sfleet(['ca', 'issue', '--dir', join(vault, 'ca'), '--role', 'hub', '--name', 'hub1', '--san', '127.0.0.1'], hubEnv);
  mkdirSync(join(machine, 'tls'), { recursive: true });
  for (const f of ['ca.pem', 'hub1.pem', 'hub1-key.pem']) cpSync(join(vault, 'ca', f), join(machine, 'tls', f));
  rmSync(join(vault, 'ca', 'hub1-key.pem'));
}

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), `dr-it-${process.pid}-`));
  vault = join(work, 'vault');
  machine = join(work, 'machine');
  mkdirSync(machine);
  registerAuditDir(join(machine, 'data', 'audit'));
  s3 = await TestS3Server.start(['sfleet-dr']);
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  httpUrl = `https://127.0.0.1:${httpPort}`;
  grpcAddress = `127.0.0.1:${grpcPort}`;
  // Step 0 and 4: the backup key and the bucket's credentials in the environment of the hub and of restore.
  hubEnv = { ...process.env, SFLEET_BACKUP_KEY: BACKUP_KEY, S3_ID: S3_KEY.accessKeyId, S3_SECRET: S3_KEY.secretAccessKey };
  await sfleet(['ca', 'init', '--dir', join(vault, 'ca'), '--trust-domain', 'dr.test'], hubEnv);
  await sfleet(['ca', 'issue', '--dir', join(vault, 'ca'), '--role', 'agent', '--name', 'dr-agent', '--cluster', 'dr'], hubEnv);
  await issueHubCertificate();
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  cliEnv = { PATH: process.env.PATH, HOME: home, SFLEET_CONFIG: join(home, 'contexts.yaml'), SFLEET_HUB: httpUrl, SFLEET_CA: join(vault, 'ca', 'ca.pem') };
  const yaml = [
    `listen: { http: "127.0.0.1:${httpPort}", grpc: "${grpcAddress}" }`,
    `tls: { ca: ${machine}/tls/ca.pem, cert: ${machine}/tls/hub1.pem, key: ${machine}/tls/hub1-key.pem }`,
    `data_dir: ${machine}/data`,
    'hub_id: hub1',
    `encryption: { enabled: true, provider: file, file: { path: ${machine}/keyring.json } }`,
    'history: { threads: 1, memory_limit: 256MB }',
    'rbac:',
    '  bindings: [{ service: ops, role: admin }]',
    'backup:',
    '  encryption: { enabled: true, provider: env, env: { var: SFLEET_BACKUP_KEY } }',
    '  destinations:',
    `    - { type: s3, bucket: sfleet-dr, endpoint: "${s3.endpoint}", force_path_style: true, access_key_id_env: S3_ID, secret_access_key_env: S3_SECRET, retries: 1 }`,
    '',
  ].join('\n');
  writeFileSync(config(), yaml);
  // Step 0: hub.yaml is kept in configuration management, off the machine.
  writeFileSync(join(vault, 'hub.yaml'), yaml);
  // The keyring of encryption at rest, made before the first start (as test/backup.test.ts does).
  await AtRest.create({ enabled: true, provider: 'file', file: { path: join(machine, 'keyring.json') } }, { createKeyring: true });
  registerKeyring(join(machine, 'keyring.json'), 'hub keyring (disaster-recovery test)');
  await sfleet(['user', 'add', 'alice', '--config', config(), '--group', 'hpc'], { ...hubEnv, SFLEET_USER_PASSWORD: PASSWORD });
  opsToken = (await sfleet(['token', 'create', '--name', 'ops', '--config', config()], hubEnv)).trim().split('\n').pop()!;
  registerSecret(opsToken, 'API token ops (disaster-recovery test)');
  await writeHistoryRuns(join(machine, 'data'), [1, 2, 3, 4].map(run));
  await startHub();
  source.model.job = [1, 2, 3].map((id) => makeJob('dr', id, { state: 'RUNNING' }));
  source.model.node = [makeNode('dr', 'n1')];
  const tls = { ca: join(vault, 'ca', 'ca.pem'), cert: join(vault, 'ca', 'dr-agent.pem'), key: join(vault, 'ca', 'dr-agent-key.pem') };
  agent = await startTestAgent({ cluster: 'dr', endpoints: [grpcAddress], tls, backoff: ['250ms', '2s'], spoolDir: mkdtempSync(join(work, 'spool-')) }, { logger: testLogger('disaster-recovery'), source });
  await waitFor('the agent streams', async () => (await jobIds()).length === 3, 60_000, 500);
}, 180_000);

afterAll(async () => {
  await agent?.close();
  await hub?.kill('SIGTERM');
  await s3?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('docs/disaster-recovery.md, step by step', () => {
  it('a hub lost with its data directory and key material is rebuilt from the bucket and the kept recovery material: agents reconnect, nothing of the history or audit is missing', async () => {
    // Before: a token made through the API (an audited change), the history, the audit chain, a backup.
    const grafana = (await ops(['token', 'create', '--name', 'grafana', '--role', 'viewer'])).trim().split('\n').pop()!;
    registerSecret(grafana, 'API token grafana (disaster-recovery test)');
    const history = JSON.parse(await ops(['history', 'jobs', '-o', 'json'])) as unknown[];
    expect(history).toHaveLength(4);
    const auditBefore = await auditRecords();
    expect(auditBefore.map((r) => r.action)).toContain('tokens:create');
    expect(await ops(['backup', 'create'])).toMatch(/^backup \S+: \d+ objects, \d+ bytes, to s3:sfleet-dr$/m);

    // The disaster: the machine is gone, with its data directory, keyring, TLS key and hub.yaml.
    await hub!.kill('SIGKILL');
    hub = undefined;
    rmSync(machine, { recursive: true, force: true });
    // Slurm goes on meanwhile: a job ends, another is submitted; the agent spools and retries.
    source.model.job = [...source.model.job.filter((j) => j.id !== 1), makeJob('dr', 4, { state: 'PENDING' })];

    // Step 1-3: a new machine, a hub certificate from the kept CA, hub.yaml from configuration management.
    mkdirSync(machine);
    await issueHubCertificate();
    cpSync(join(vault, 'hub.yaml'), config());
    // Step 4-5: restore the newest backup from the bucket into the empty data directory.
    const restored = await sfleet(['backup', 'restore', '--config', config(), '--from', 's3:sfleet-dr'], hubEnv);
    expect(restored).toMatch(new RegExp(`^restored backup \\S+ .* from s3:sfleet-dr: \\d+ files into ${join(machine, 'data')}`));
    expect(existsSync(join(machine, 'keyring.json'))).toBe(true); // a new key seals the restored stores
    registerKeyring(join(machine, 'keyring.json'), 'restored hub keyring (disaster-recovery test)');
    // Step 6: the audit chain verifies before the start.
    expect(await sfleet(['audit', 'verify', '--config', config()], hubEnv)).toMatch(/^OK: .* \d+ records/);

    // Step 7: start; the agent reconnects on its own and the hub shows what changed during the outage.
    await startHub();
    await waitFor('the agent is back and the hub converged', async () => JSON.stringify(await jobIds()) === JSON.stringify([2, 3, 4]), 90_000, 500);
    const clusters = JSON.parse(await ops(['clusters', '-o', 'json'])) as { name: string; connected: boolean }[];
    expect(clusters.find((c) => c.name === 'dr')?.connected).toBe(true);

    // Step 8: tokens, the password, the history; every audit record the backup held, and the chain verifies.
    expect((await httpsCall(`${httpUrl}/api/v1/clusters`, { ca: join(vault, 'ca', 'ca.pem'), headers: { authorization: `Bearer ${grafana}` }, timeoutMs: 10_000 })).status).toBe(200);
    expect(await login(PASSWORD)).toBe(200);
    expect(await login('not the password')).toBe(401);
    expect(JSON.parse(await ops(['history', 'jobs', '-o', 'json']))).toEqual(history);
    const after = new Map((await auditRecords()).map((r) => [r.seq, r.hash]));
    for (const r of auditBefore) expect(after.get(r.seq), `audit record ${r.seq}`).toBe(r.hash);
    await hub!.kill('SIGTERM');
    hub = undefined;
    expect(await sfleet(['audit', 'verify', '--config', config()], hubEnv)).toMatch(/^OK: .* \d+ records/);
  }, 420_000);
});
