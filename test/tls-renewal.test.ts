// Agents renew their own certificate from the hub over the authenticated stream: a 20 s
// certificate is replaced at about 70% of its lifetime by one with a new serial and a key made
// on the agent and written to its state directory (tls.renewed_dir; the configured files stay as
// the operator installed them), the agent reconnects with it, and no delta is lost. A hub without the CA key
// refuses (the agent keeps streaming and says why), and a CSR for another identity is refused.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { AgentServiceClient, type HubMessage } from '../generated/fleet/v1/agent.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { testLogger } from './harness/run-logs.js';
import { createCertificateRequest, grpcClientCredentials, issueCertificate, loadTls, revocationPath, revokeCertificate, type TlsFiles } from '../shared/tls/index.js';
import { makePki, type TestPki } from './harness/pki.js';
import { waitFor } from './harness/wait.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { renewedFiles } from '../agent/stream/index.js';
import { startTestAgent } from './harness/test-agent.js';
import { privateCopy } from './harness/tls-probe.js';

const logger = testLogger('tls-renewal');
let pki: TestPki;
let hub: RunningHub;
let dataDir: string;
const agents: RunningAgent[] = [];

/** An agent certificate that lives `lifetimeMs`, copied where the agent may replace it. */
async function shortLived(cluster: string, lifetimeMs: number): Promise<TlsFiles> {
  const out = await issueCertificate(pki.dir, { role: 'agent', name: `agent-${cluster}`, cluster, lifetimeMs });
  return privateCopy({ ca: pki.ca, cert: out.cert, key: out.key });
}

async function agentFor(hubAddress: string, cluster: string, tls: TlsFiles & { renew_at?: number; renewed_dir?: string }, source: ScriptedSource): Promise<RunningAgent> {
  const a = await startTestAgent(
    { cluster, endpoints: [hubAddress], backoff: ['100ms', '300ms'], tls, spoolDir: mkdtempSync(join(tmpdir(), `spool-${process.pid}-`)) },
    { logger, source },
  );
  agents.push(a);
  return a;
}

const serialOf = (path: string): string => new X509Certificate(readFileSync(path)).serialNumber;

beforeAll(async () => {
  pki = await makePki('renewal.sfleet');
  dataDir = mkdtempSync(join(tmpdir(), `hub-${process.pid}-`));
  hub = await startHub(
    hubConfigSchema.parse({
      listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
      tls: { ...pki.hub, ca_key: join(pki.dir, 'ca-key.pem'), issued_lifetime: '1h' },
      data_dir: dataDir,
    }),
    { logger },
  );
});

afterAll(async () => {
  for (const a of agents) await a.close();
  await hub?.close();
});

describe('agent certificate renewal', () => {
  it('renews a 20 s certificate at about 70% of its life, reconnects with it, and loses no delta', async () => {
    const files = await shortLived('renew', 20_000);
    const oldSerial = serialOf(files.cert);
    const oldCert = readFileSync(files.cert, 'utf8');
    const oldKey = readFileSync(files.key, 'utf8');
    const source = new ScriptedSource('renew');
    source.model.job = [makeJob('renew', 1)];
    const renewedDir = join(mkdtempSync(join(tmpdir(), 'agent-state-')), 'sfleet-tls');
    const renewedPair = renewedFiles(renewedDir);
    const agent = await agentFor(hub.grpcAddress, 'renew', { ...files, renewed_dir: renewedDir }, source);
    await waitFor('the agent streaming', () => hub.state.job('renew', '1'));

    // Slurm keeps changing while the certificate is renewed underneath.
    let next = 2;
    const churn = setInterval(() => {
      source.model.job = [...source.model.job, makeJob('renew', next++)];
    }, 300);
    try {
      await waitFor('a renewed certificate in the state directory', () => existsSync(renewedPair.cert) && serialOf(renewedPair.cert) !== oldSerial, 30_000, 200);
      await waitFor('a reconnect with it', () => agent.stream.stats.connects >= 2 && agent.stream.connected, 10_000);
    } finally {
      clearInterval(churn);
    }

    // The configured files are the operator's (read-only to the service under systemd): untouched.
    expect(readFileSync(files.cert, 'utf8')).toBe(oldCert);
    expect(readFileSync(files.key, 'utf8')).toBe(oldKey);
    const renewed = new X509Certificate(readFileSync(renewedPair.cert));
    expect(renewed.subjectAltName).toBe('URI:spiffe://renewal.sfleet/cluster/renew/agent/agent-renew');
    expect(renewed.verify(new X509Certificate(readFileSync(pki.ca)).publicKey)).toBe(true);
    expect(Date.parse(renewed.validTo) - Date.now()).toBeGreaterThan(30 * 60_000); // the hub's issued_lifetime (1h)
    expect(readFileSync(renewedPair.key, 'utf8')).not.toBe(oldKey); // a new key pair, made on the agent
    expect(statSync(renewedPair.key).mode & 0o777).toBe(0o600);
    expect(() => loadTls({ ...files, ...renewedPair }, 'renewed')).not.toThrow();
    expect(agent.renewal.stats.renewed).toBe(1);
    expect(hub.tls.certificates.stats.issued).toBeGreaterThanOrEqual(1);

    // Proof the stream now runs on the new certificate: revoking the old one does not touch it.
    const connects = agent.stream.stats.connects;
    revokeCertificate(revocationPath(dataDir), { serial: oldSerial, reason: 'superseded' });
    await waitFor('the hub reading the list', () => hub.tls.revocations.revoked(oldSerial));

    // Every job Slurm had reached the hub, in order, with no gap.
    const last = next - 1;
    source.model.job = [...source.model.job, makeJob('renew', next)];
    await waitFor('every job at the hub', () => hub.state.job('renew', String(next)));
    for (let id = 1; id <= last; id++) expect(hub.state.job('renew', String(id)), `job ${id}`).toBeTruthy();
    expect(hub.ingest.stats.gaps).toBe(0);
    expect(agent.stream.connected).toBe(true);
    expect(agent.stream.stats.connects).toBe(connects);
    expect(hub.tls.certificates.stats.ended).toBe(0);
    expect(hub.ingest.active.get('renew')).toBeTruthy();
    await waitFor('all deltas acknowledged', () => agent.spool.unacked().length === 0);
  });

  it('keeps streaming and says why when the hub has no CA key to renew with', async () => {
    const keyless = await startHub(
      hubConfigSchema.parse({ listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' }, tls: pki.hub, data_dir: mkdtempSync(join(tmpdir(), `hub-${process.pid}-`)) }),
      { logger },
    );
    try {
      const files = await shortLived('keyless', 20_000);
      const serial = serialOf(files.cert);
      const source = new ScriptedSource('keyless');
      source.model.job = [makeJob('keyless', 1)];
      // Renew early (20% of the life) so the refusal comes quickly.
      const agent = await agentFor(keyless.grpcAddress, 'keyless', { ...files, renew_at: 0.2 }, source);
      await waitFor('the refusal', () => agent.renewal.lastRefusal, 15_000);
      expect(agent.renewal.lastRefusal).toMatch(/^SF_TLS_RENEWAL_DISABLED: .*tls\.ca_key/);
      expect(serialOf(files.cert)).toBe(serial);
      source.model.job = [makeJob('keyless', 1), makeJob('keyless', 2)];
      await waitFor('deltas still flowing', () => keyless.state.job('keyless', '2'));
      expect(agent.stream.stats.disconnects).toBe(0);
      await agent.close();
    } finally {
      await keyless.close();
    }
  });

  it('refuses a CSR for any identity but the stream\'s own', async () => {
    const tls = loadTls(await pki.agent('honest'), 'test');
    const client = new AgentServiceClient(hub.grpcAddress, grpcClientCredentials(tls));
    const call = client.connect();
    const answers: HubMessage[] = [];
    call.on('data', (m: HubMessage) => answers.push(m));
    call.on('error', () => {});
    call.write({ body: { $case: 'hello', value: { cluster: 'honest', agent_name: 'agent-honest', epoch: 0, last_seq: 0, agent_version: 'test', slurm_api_version: '' } } });
    await waitFor('welcome', () => answers.some((m) => m.body?.$case === 'welcome'));
    const { csrPem } = await createCertificateRequest('spiffe://renewal.sfleet/cluster/other/agent/agent-other');
    call.write({ body: { $case: 'certificate_request', value: { csr_pem: csrPem } } });
    const refused = await waitFor('an answer', () => answers.find((m) => m.body?.$case === 'certificate_refused' || m.body?.$case === 'certificate_issued'));
    expect(refused.body).toMatchObject({ $case: 'certificate_refused', value: { code: 'SF_TLS_CSR_WRONG_IDENTITY', message: expect.stringContaining('may only renew its own certificate') } });
    call.write({ body: { $case: 'certificate_request', value: { csr_pem: 'garbage' } } });
    await waitFor('a second answer', () => answers.filter((m) => m.body?.$case === 'certificate_refused').length === 2);
    expect(answers.filter((m) => m.body?.$case === 'certificate_refused')[1].body).toMatchObject({ value: { code: 'SF_TLS_CSR_INVALID' } });
    call.cancel();
    client.close();
  });
});
