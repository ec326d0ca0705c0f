// Issue 19's compliance part through real hub processes: hub A runs with the brief's frameworks
// (sox, gdpr, hipaa, soc2), encryption at rest and RBAC; its history holds known runs (written
// into its data directory before it starts: no agent writes there). Hub B is fresh.
//  - sfleet export --user: everything about a person, for admin and auditor only, audited, and
//    pseudonymised (keyed, stable) on request;
//  - sfleet compliance report: each control's evidence, per framework, exit 1 when one fails;
//  - hipaa: a history query is audited although the default rules drop reads;
//  - sfleet import history: each export format of A imported into B twice gives A's history,
//    without duplicates; a bad row is named and nothing of that import is kept.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryJob, HistoryJobView } from '../shared/history/index.js';
import { HistoryEngine, HistoryStore } from '../hub/history/index.js';
import { registerAuditDir, registerSecret } from './harness/run-logs.js';
import { assertBuilt, sfleet, SfleetProcess, sfleetRun } from './harness/sfleet-process.js';
import { freePort, waitFor } from './harness/index.js';

const T0 = Date.UTC(2026, 10, 20, 8);
const run = (job_id: number): HistoryJob => ({
  cluster: job_id % 3 ? 'east' : 'west', job_id, submit_time: T0 + job_id * 1000, start_time: job_id % 7 === 0 ? null : T0 + job_id * 1000 + 60_000,
  end_time: T0 + job_id * 1000 + (job_id % 4) * 86_400_000 + 3_600_000, name: job_id === 5 ? 'prep, "quick"' : `job-${job_id}`,
  user: job_id % 2 ? 'alice' : 'bob', account: 'research', partition: 'batch', qos: 'normal', state: job_id % 5 ? 'COMPLETED' : 'FAILED',
  exit_code: job_id % 5 ? 0 : 1, exit_signal: 0, alloc_tres: 'billing=4,cpu=4,mem=1G,node=2', cpus: 4, gpus: job_id % 11 ? 0 : 1, memory_mb: 1024,
  node_count: 2, node_list: 'n[1-2]', nodes: ['n1', 'n2'],
});
const RUNS = Array.from({ length: 120 }, (_, i) => run(i + 1));
const PSEUDONYM_KEY = randomBytes(24).toString('base64');
const KEK = randomBytes(32).toString('base64');
const BREAKGLASS_PASSWORD = 'break-glass-9c1f-Qx7m-passphrase';

let work: string;
const hubs: SfleetProcess[] = [];
const env: Record<'operator' | 'auditor' | 'viewer' | 'fresh', NodeJS.ProcessEnv> = {} as never;

async function startHub(name: string, httpPort: number, extra: string[], hubEnv: NodeJS.ProcessEnv): Promise<void> {
  const pki = join(work, 'pki');
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', name], process.env);
  writeFileSync(
    join(work, `${name}.yaml`),
    [
      `listen: { grpc: "127.0.0.1:${await freePort()}", http: "127.0.0.1:${httpPort}" }`,
      `tls: { ca: ${pki}/ca.pem, cert: ${pki}/${name}.pem, key: ${pki}/${name}-key.pem }`,
      `data_dir: ${work}/${name}-data`,
      'log_level: warn',
      'history: { threads: 1, memory_limit: 256MB }',
      ...extra,
      '',
    ].join('\n'),
  );
  registerAuditDir(join(work, `${name}-data`, 'audit'));
  hubs.push(new SfleetProcess(['hub', '--config', join(work, `${name}.yaml`)], join(work, `${name}.log`), hubEnv).start());
}

const clientEnv = (port: number, cert: string): NodeJS.ProcessEnv => {
  const pki = join(work, 'pki');
  return { PATH: process.env.PATH, HOME: work, SFLEET_HUB: `https://127.0.0.1:${port}`, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/${cert}.pem`, SFLEET_KEY: `${pki}/${cert}-key.pem`, SFLEET_CONFIG: join(work, `${cert}-contexts.yaml`) };
};

const historyOf = async (e: NodeJS.ProcessEnv): Promise<HistoryJobView[]> =>
  (JSON.parse(await sfleet(['history', 'jobs', '--limit', '10000', '-o', 'json'], e)) as HistoryJobView[]).sort((a, b) => a.cluster.localeCompare(b.cluster) || a.job_id - b.job_id);

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), 'sfleet-compliance-'));
  registerSecret(PSEUDONYM_KEY, 'pseudonym key (compliance test)');
  registerSecret(KEK, 'encryption key (compliance test)');
  registerSecret(BREAKGLASS_PASSWORD, 'local user password (compliance test)');
  const pki = join(work, 'pki');
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'compliance.test'], process.env);
  for (const who of ['operator', 'auditor', 'viewer']) await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', who], process.env);
  // Hub A's history, written as its own store would.
  const engine = await HistoryEngine.open({ threads: 1, memoryLimit: '256MB' });
  try {
    await new HistoryStore({ engine, fence: { owns: () => true } }, { dir: join(work, 'a-data', 'history') }).upsert(RUNS);
  } finally {
    engine.close();
  }
  const [a, b] = [await freePort(), await freePort()];
  await startHub('a', a, [
    'encryption: { enabled: true, provider: env, env: { var: SFLEET_TEST_KEK } }',
    'audit: { retention_days: 90 }',
    'compliance: { frameworks: [sox, gdpr, hipaa, soc2], gdpr: { pseudonym_key_env: SFLEET_PSEUDONYM_KEY } }',
    'rbac: { bindings: [{ client: operator, role: admin }, { client: auditor, role: auditor }, { client: viewer, role: viewer }] }',
  ], { ...process.env, SFLEET_TEST_KEK: KEK, SFLEET_PSEUDONYM_KEY: PSEUDONYM_KEY });
  await startHub('b', b, [], process.env);
  env.operator = clientEnv(a, 'operator');
  env.auditor = clientEnv(a, 'auditor');
  env.viewer = clientEnv(a, 'viewer');
  env.fresh = clientEnv(b, 'operator');
  for (const e of [env.operator, env.fresh]) await waitFor('hub answers', async () => sfleet(['clusters', '-o', 'json'], e).then(() => true, () => false), 60_000, 300);
}, 120_000);

afterAll(async () => {
  for (const h of hubs) await h.kill('SIGTERM');
});

describe('sfleet export --user (GDPR subject access)', () => {
  it("gives an auditor alice's history and audit trail as one JSON file, refuses a viewer, and records who took whose data", async () => {
    const out = join(work, 'alice.json');
    await sfleet(['export', '--user', 'alice', '-f', out], env.auditor);
    const person = JSON.parse(readFileSync(out, 'utf8')) as { subject: string; pseudonymized: boolean; history: { jobs: HistoryJobView[] }; audit_records: { user: string; action: string }[] };
    expect(person).toMatchObject({ subject: 'alice', pseudonymized: false });
    expect(person.history.jobs).toHaveLength(60);
    expect(person.history.jobs.every((j) => j.user === 'alice')).toBe(true);

    const viewer = await sfleetRun(['export', '--user', 'alice'], env.viewer);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/may not export compliance/);
    expect(viewer.stdout).toBe('');

    const records = JSON.parse(await sfleet(['audit', 'query', '--action', 'compliance:*', '-o', 'json'], env.operator)) as { user: string; outcome: string; resource: string }[];
    expect(records).toEqual(expect.arrayContaining([
      expect.objectContaining({ user: 'auditor', outcome: 'success', resource: 'person alice: 60 jobs, 0 audit records' }),
      expect.objectContaining({ user: 'viewer', outcome: 'denied' }),
    ]));
  });

  it('pseudonymised: no trace of the name, and the same pseudonym on every export under the site key', async () => {
    const first = await sfleet(['export', '--user', 'alice', '--pseudonymize'], env.auditor);
    const second = await sfleet(['export', '--user', 'alice', '--pseudonymize'], env.operator);
    expect(first).not.toContain('alice');
    const [p1, p2] = [first, second].map((t) => JSON.parse(t) as { subject: string; pseudonymized: boolean; history: { jobs: HistoryJobView[] } });
    expect(p1.subject).toMatch(/^u-[0-9a-f]{20}$/);
    expect(p2.subject).toBe(p1.subject);
    expect(p1).toMatchObject({ pseudonymized: true });
    expect(new Set(p1.history.jobs.map((j) => j.user))).toEqual(new Set([p1.subject]));
    // The history export carries the same pseudonyms.
    const csv = await sfleet(['export', 'history', '--format', 'csv', '--user', 'alice', '--pseudonymize'], env.operator);
    expect(csv).not.toContain('alice');
    expect(csv.trimEnd().split('\r\n').slice(1).every((line) => line.includes(`,${p1.subject},`))).toBe(true);
    // A hub without the gdpr key says what is missing.
    const fresh = await sfleetRun(['export', '--user', 'alice', '--pseudonymize'], env.fresh);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toMatch(/pseudonymised exports need gdpr in compliance\.frameworks and compliance\.gdpr\.pseudonym_key_env/);
  });
});

describe('sfleet compliance report', () => {
  it("shows each control's evidence from the running hub, exits 1 while one fails, and passes for gdpr alone", async () => {
    // A break-glass local user without a second factor: the report reads the users the hub holds.
    await sfleet(['user', 'add', 'breakglass', '--config', join(work, 'a.yaml')], { ...process.env, SFLEET_TEST_KEK: KEK, SFLEET_USER_PASSWORD: BREAKGLASS_PASSWORD });
    const all = await sfleetRun(['compliance', 'report', '-o', 'json'], env.auditor);
    expect(all.code).toBe(1);
    const report = JSON.parse(all.stdout) as { frameworks: string[]; controls: { id: string; status: string; evidence: string }[] };
    expect(report.frameworks).toEqual(['sox', 'gdpr', 'hipaa', 'soc2']);
    const byId = Object.fromEntries(report.controls.map((c) => [c.id, c]));
    expect(byId['audit.chain'].status).toBe('pass');
    // The site asked for 90 days; SOX raised it.
    expect(byId['audit.retention']).toMatchObject({ status: 'pass', evidence: 'audit.retention_days in effect 2555; required 2555 (by sox)' });
    expect(byId['audit.job_data_reads'].status).toBe('pass');
    expect(byId['encryption.at_rest']).toMatchObject({ status: 'pass', evidence: 'on, key provider env' });
    expect(byId['rbac.admins']).toMatchObject({ status: 'info', evidence: 'client operator' });
    expect(byId['backup.recent']).toMatchObject({ status: 'fail', evidence: 'no backup section' });
    expect(byId['auth.mfa'].status).toBe('fail');
    expect(byId['auth.mfa.enrolled']).toMatchObject({ status: 'info', evidence: 'auth.mfa is off; 0 of 1 local users have a factor enrolled' });

    const gdpr = await sfleetRun(['compliance', 'report', '--framework', 'gdpr'], env.auditor);
    expect(gdpr.code).toBe(0);
    expect(gdpr.stdout).toMatch(/^compliance report of hub \S+ at \S+ \(gdpr\): 5 pass, 0 fail, 1 info/);
    expect(gdpr.stdout).toContain('PASS  gdpr.pseudonyms: Exports can be pseudonymised (keyed HMAC) [gdpr]');

    const viewer = await sfleetRun(['compliance', 'report'], env.viewer);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/may not report compliance/);
  });

  it('hipaa: listing jobs is in the audit log, though the default rules drop reads', async () => {
    await sfleet(['jobs', '-o', 'json'], env.operator);
    const reads = JSON.parse(await sfleet(['audit', 'query', '--action', 'jobs:read', '--user', 'operator', '-o', 'json'], env.operator)) as { outcome: string; level: string }[];
    expect(reads).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'Metadata', outcome: 'success' })]));
    // Hub B has no hipaa: its reads stay unrecorded.
    await sfleet(['jobs', '-o', 'json'], env.fresh);
    expect(JSON.parse(await sfleet(['audit', 'query', '--action', 'jobs:read', '-o', 'json'], env.fresh))).toEqual([]);
  });
});

describe('sfleet import history', () => {
  it("each export format of hub A, imported into fresh hub B twice, gives A's history without duplicates", async () => {
    const want = await historyOf(env.operator);
    expect(want).toHaveLength(120);
    for (const format of ['parquet', 'csv', 'ndjson'] as const) {
      const file = join(work, `a.${format}`);
      await sfleet(['export', 'history', '--format', format, '-f', file], env.operator);
      await sfleet(['import', 'history', file], env.fresh);
      expect(await historyOf(env.fresh), format).toEqual(want);
      await sfleet(['import', 'history', file], env.fresh);
      expect(await historyOf(env.fresh), `${format}, again`).toEqual(want);
    }
  });

  it('a bad row is named by file, line and column, and nothing of that import is kept; a viewer may not import', async () => {
    const before = await historyOf(env.fresh);
    const good = JSON.stringify({ ...run(900), submit_time: new Date(T0).toISOString(), start_time: null, end_time: new Date(T0 + 1000).toISOString() });
    const bad = join(work, 'bad.ndjson');
    writeFileSync(bad, `${good}\n${good.replace('"job-900"', '"ok"')}\n${good.replace(/"end_time":"[^"]+"/, '"end_time":"tomorrow"')}\n`);
    const res = await sfleetRun(['import', 'history', join(work, 'a.csv'), bad], env.fresh);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${bad}:3: end_time: "tomorrow" is not an ISO-8601 time`);
    expect(await historyOf(env.fresh)).toEqual(before);
    const viewer = await sfleetRun(['import', 'history', join(work, 'a.csv')], env.viewer);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/may not import history/);
  });
});

describe('sfleet compliance pseudonymize (GDPR erasure from the job history)', () => {
  it("replaces bob's name in hub A's stored history and in what it stores later; an auditor may not; a hub without the key says so", async () => {
    const auditor = await sfleetRun(['compliance', 'pseudonymize', 'bob'], env.auditor);
    expect(auditor.code).toBe(1);
    expect(auditor.stderr).toMatch(/may not erase compliance/);

    const done = JSON.parse(await sfleet(['compliance', 'pseudonymize', 'bob', '-o', 'json'], env.operator)) as { pseudonym: string; rows: number; partitions: number; not_owned: string[] };
    expect(done).toMatchObject({ rows: 60, not_owned: [] });
    expect(done.pseudonym).toMatch(/^u-[0-9a-f]{20}$/);
    // The same key gives the same pseudonym as the subject-access export.
    const exported = JSON.parse(await sfleet(['export', '--user', 'bob', '--pseudonymize'], env.auditor)) as { subject: string };
    expect(exported.subject).toBe(done.pseudonym);

    const history = await historyOf(env.operator);
    expect(history).toHaveLength(120);
    expect(new Set(history.map((j) => j.user))).toEqual(new Set(['alice', done.pseudonym]));
    // A run of bob imported afterwards (as slurmdbd's backfill would bring one) is stored under the pseudonym.
    const later = join(work, 'later.ndjson');
    writeFileSync(later, `${JSON.stringify({ ...run(902), user: 'bob', name: 'bob-rerun', submit_time: new Date(T0).toISOString(), start_time: null, end_time: new Date(T0 + 1000).toISOString() })}\n`);
    await sfleet(['import', 'history', later], env.operator);
    const rerun = (await historyOf(env.operator)).find((j) => j.job_id === 902);
    expect(rerun).toMatchObject({ user: done.pseudonym, name: `${done.pseudonym}-rerun` });

    // The audit record names the pseudonym, not the person.
    const records = JSON.parse(await sfleet(['audit', 'query', '--action', 'compliance:erase', '-o', 'json'], env.operator)) as { user: string; outcome: string; resource: string }[];
    expect(records).toEqual(expect.arrayContaining([expect.objectContaining({ user: 'operator', outcome: 'success', resource: `person ${done.pseudonym} (pseudonymised): 60 history runs in ${done.partitions} partitions` })]));
    expect(JSON.stringify(records)).not.toContain('bob');

    const fresh = await sfleetRun(['compliance', 'pseudonymize', 'bob'], env.fresh);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toMatch(/need gdpr in compliance\.frameworks/);
  });
});
