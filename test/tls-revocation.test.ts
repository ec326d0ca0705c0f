// Revocation: `sfleet ca revoke` writes the hub's revocation list; the hub picks it up without
// a restart, ends the open stream of a just-revoked agent certificate (UNAUTHENTICATED, with
// the reason), refuses it on every new stream, and refuses revoked client certificates on the
// HTTPS API and on gRPC FleetService. Other certificates are untouched.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { AgentServiceClient } from '../generated/fleet/v1/agent.js';
import { FleetServiceClient } from '../generated/fleet/v1/fleet.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { testLogger } from './harness/run-logs.js';
import { grpcClientCredentials, loadTls, revocationPath, type TlsFiles } from '../shared/tls/index.js';
import { makePki, type TestPki } from './harness/pki.js';
import { waitFor } from './harness/wait.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

const logger = testLogger('tls-revocation');
let pki: TestPki;
let hub: RunningHub;
let dataDir: string;
let stolen: TlsFiles;
const agents: RunningAgent[] = [];

async function agentFor(cluster: string, tls: TlsFiles): Promise<RunningAgent> {
  const source = new ScriptedSource(cluster);
  source.model.job = [makeJob(cluster, 1)];
  const a = await startTestAgent(
    { cluster, endpoints: [hub.grpcAddress], backoff: ['100ms', '300ms'], tls, spoolDir: mkdtempSync(join(tmpdir(), `spool-${process.pid}-`)) },
    { logger, source },
  );
  agents.push(a);
  return a;
}

function api(path: string, cert: TlsFiles): Promise<{ status: number; type: string; body: string }> {
  const port = Number(new URL(hub.httpUrl).port);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, servername: 'localhost', ca: readFileSync(pki.ca), cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function grpcListClusters(cert: TlsFiles): Promise<ServiceError | undefined> {
  const client = new FleetServiceClient(hub.grpcAddress, grpcClientCredentials(loadTls(cert, 'test')));
  return new Promise((resolve) =>
    client.listClusters({}, new Metadata(), (err) => {
      client.close();
      resolve(err ?? undefined);
    }),
  );
}

/** Opens an agent stream with `cert` and returns how the hub ends it. */
function openStream(cert: TlsFiles, cluster: string): Promise<ServiceError> {
  const client = new AgentServiceClient(hub.grpcAddress, grpcClientCredentials(loadTls(cert, 'test')));
  const call = client.connect();
  return new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', (err: ServiceError) => {
      client.close();
      resolve(err);
    });
    call.write({ body: { $case: 'hello', value: { cluster, agent_name: `agent-${cluster}`, epoch: 0, last_seq: 0, agent_version: 'test', slurm_api_version: '' } } });
  });
}

const env = { ...process.env, HOME: mkdtempSync(join(tmpdir(), `home-${process.pid}-`)) };

beforeAll(async () => {
  assertBuilt();
  pki = await makePki('revocation.sfleet');
  dataDir = mkdtempSync(join(tmpdir(), `hub-${process.pid}-`));
  hub = await startHub(hubConfigSchema.parse({ listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' }, tls: { ...pki.hub, ca_key: join(pki.dir, 'ca-key.pem') }, data_dir: dataDir }), { logger });
});

afterAll(async () => {
  for (const a of agents) await a.close();
  await hub?.close();
});

describe('certificate revocation', () => {
  it('ends the open stream of a revoked agent certificate and refuses it from then on; other agents go on', async () => {
    const badFiles = (stolen = await pki.agent('stolen'));
    const goodFiles = await pki.agent('fine');
    const bad = await agentFor('stolen', badFiles);
    const good = await agentFor('fine', goodFiles);
    await waitFor('both agents streaming', () => hub.state.job('stolen', '1') && hub.state.job('fine', '1'));

    const out = await sfleet(['ca', 'revoke', '--cert', badFiles.cert, '--data-dir', dataDir, '--reason', 'key compromised'], env);
    const serial = new X509Certificate(readFileSync(badFiles.cert)).serialNumber.toLowerCase().replace(/^0+/, '');
    expect(out).toContain(`revoked ${serial} (spiffe://revocation.sfleet/cluster/stolen/agent/agent-stolen)`);
    expect(JSON.parse(readFileSync(revocationPath(dataDir), 'utf8')).revoked).toEqual([expect.objectContaining({ serial, reason: 'key compromised' })]);

    await waitFor('the revoked stream ended', () => hub.tls.certificates.stats.ended === 1 && !hub.ingest.active.has('stolen'));
    await waitFor('the agent told why', () => bad.stream.lastError?.includes('SF_TLS_CERT_REVOKED'));
    expect(bad.stream.lastError).toContain('key compromised');

    // A new stream with it: UNAUTHENTICATED with the reason, before any hello is taken.
    const refused = await openStream(badFiles, 'stolen');
    expect(refused.code).toBe(status.UNAUTHENTICATED);
    expect(refused.details).toMatch(/^SF_TLS_CERT_REVOKED: certificate [0-9a-f]+ was revoked at .* \(key compromised\)$/);
    expect(bad.stream.connected).toBe(false);

    expect(good.stream.connected).toBe(true);
    expect(good.stream.stats.disconnects).toBe(0);
    expect(hub.ingest.active.has('fine')).toBe(true);

    // Revoking again changes nothing and says so.
    expect(await sfleet(['ca', 'revoke', '--serial', serial.toUpperCase(), '--data-dir', dataDir], env)).toContain(`${serial} was already revoked`);
  });

  it('refuses a revoked client certificate on the HTTPS API and on gRPC, and only that one', async () => {
    const mallory = await pki.issue('client', 'mallory');
    expect((await api('/api/v1/clusters', mallory)).status).toBe(200);
    expect(await grpcListClusters(mallory)).toBeUndefined();

    const serial = new X509Certificate(readFileSync(mallory.cert)).serialNumber;
    await sfleet(['ca', 'revoke', '--serial', serial, '--data-dir', dataDir, '--reason', 'left the team'], env);
    await waitFor('the hub reading the list', () => hub.tls.revocations.revoked(serial));

    const res = await api('/api/v1/clusters', mallory);
    expect(res.status).toBe(401);
    expect(res.type).toContain('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ code: 'SF_AUTH_UNAUTHENTICATED', detail: expect.stringMatching(/SF_TLS_CERT_REVOKED: .*left the team/) });
    const err = await grpcListClusters(mallory);
    expect(err?.code).toBe(status.UNAUTHENTICATED);
    expect(err?.details).toContain('left the team');

    expect((await api('/api/v1/clusters', pki.client)).status).toBe(200);
    expect(await grpcListClusters(pki.client)).toBeUndefined();
  });

  it('keeps the list in force when the file is broken, and the CLI says what is wrong', async () => {
    const before = hub.tls.revocations.size;
    writeFileSync(revocationPath(dataDir), '{"revoked": [ {"serial": "zz"} ]}');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(hub.tls.revocations.size).toBe(before);
    expect((await openStream(stolen, 'stolen')).code).toBe(status.UNAUTHENTICATED);
    await expect(sfleet(['ca', 'revoke', '--serial', 'abc', '--data-dir', dataDir], env)).rejects.toThrow(/revoked\.json: revoked\[0\]\.serial: expected a hex serial number/);
    await expect(sfleet(['ca', 'revoke', '--data-dir', dataDir], env)).rejects.toThrow(/--cert FILE or --serial HEX/);
    await expect(sfleet(['ca', 'revoke', '--serial', 'abc'], env)).rejects.toThrow(/--data-dir DIR .* or --config hub.yaml/);
  });
});
