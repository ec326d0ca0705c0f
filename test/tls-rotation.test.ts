// Certificate rotation without a restart: replacing the hub's certificate files on disk makes
// new handshakes (gRPC and HTTPS) see the new certificate, while an open agent stream goes on
// without reconnecting; a bad replacement is refused and the old certificate keeps serving.
import { status } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { testLogger } from './harness/run-logs.js';
import { revocationPath, revokeCertificate, type TlsFiles } from '../shared/tls/index.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { startTestAgent } from './harness/test-agent.js';
import { presentedSerial, privateCopy, replaceFiles, tls12Attempt } from './harness/tls-probe.js';

const logger = testLogger('tls-rotation');
let pki: TestPki;
let hubFiles: TlsFiles;
let hub: RunningHub;
let agent: RunningAgent;
let source: ScriptedSource;
let grpcPort: number;
let dataDir: string;
let agentFiles: TlsFiles;
let httpPort: number;

const serialOf = (path: string): string => new X509Certificate(readFileSync(path)).serialNumber;

beforeAll(async () => {
  pki = await makePki('rotation.sfleet');
  hubFiles = privateCopy(pki.hub);
  grpcPort = await freePort();
  httpPort = await freePort();
  hub = await startHub(
    hubConfigSchema.parse({ listen: { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` }, tls: hubFiles, data_dir: (dataDir = mkdtempSync(join(tmpdir(), `hub-${process.pid}-`))) }),
    { logger },
  );
  source = new ScriptedSource('rot');
  source.model.job = [makeJob('rot', 1)];
  agent = await startTestAgent(
    {
      cluster: 'rot',
      endpoints: [hub.grpcAddress],
      backoff: ['100ms', '300ms'],
      tls: (agentFiles = privateCopy(await pki.agent('rot'))),
      spoolDir: mkdtempSync(join(tmpdir(), `spool-${process.pid}-`)),
    },
    { logger, source },
  );
  await waitFor('the agent streaming', () => hub.state.job('rot', '1'));
});

afterAll(async () => {
  await agent?.close();
  await hub?.close();
});

describe('hub certificate rotation', () => {
  it('serves a replaced certificate to new connections on both listeners while the agent stream goes on', async () => {
    const before = serialOf(hubFiles.cert);
    expect(await presentedSerial(grpcPort, pki.client)).toBe(before);
    expect(await presentedSerial(httpPort, pki.client, 'http/1.1')).toBe(before);

    const next = await pki.issue('hub', 'hub-next');
    replaceFiles(hubFiles, next);
    const after = serialOf(next.cert);
    expect(after).not.toBe(before);
    await waitFor('gRPC listener with the new certificate', async () => (await presentedSerial(grpcPort, pki.client)) === after);
    await waitFor('HTTPS listener with the new certificate', async () => (await presentedSerial(httpPort, pki.client, 'http/1.1')) === after);
    expect(hub.tls.credentials.serial).toBe(after);

    // Still TLS 1.3 only after the reload (setSecureContext would drop minVersion if not given again).
    expect(await tls12Attempt(grpcPort, pki.ca)).toMatch(/protocol version|alert/i);
    expect(await tls12Attempt(httpPort, pki.ca)).toMatch(/protocol version|alert/i);

    // The open stream was never interrupted, and it still carries new deltas.
    source.model.job = [makeJob('rot', 1), makeJob('rot', 2)];
    await waitFor('a delta over the old stream', () => hub.state.job('rot', '2'));
    expect(agent.stream.stats.connects).toBe(1);
    expect(agent.stream.stats.disconnects).toBe(0);

    // New agent connections handshake with the new certificate too.
    const reconnect = await startTestAgent(
      { cluster: 'rot2', endpoints: [hub.grpcAddress], backoff: ['100ms', '300ms'], tls: await pki.agent('rot2'), spoolDir: mkdtempSync(join(tmpdir(), `spool-${process.pid}-`)) },
      { logger, source: Object.assign(new ScriptedSource('rot2'), { model: { ...new ScriptedSource('rot2').model, job: [makeJob('rot2', 7)] } }) },
    );
    await waitFor('a new agent through the rotated listener', () => hub.state.job('rot2', '7'));
    await reconnect.close();
  });

  it('refuses a replacement that does not fit (wrong key, foreign CA, garbage) and keeps serving the old certificate', async () => {
    const serving = hub.tls.credentials.serial;
    const refusedBefore = hub.tls.credentials.stats.refused;

    // A key that is not the certificate's.
    const mismatched = await pki.issue('hub', 'hub-mismatch');
    writeFileSync(hubFiles.key, readFileSync(mismatched.key));
    await waitFor('the mismatched key refused', () => hub.tls.credentials.stats.refused > refusedBefore);

    // A certificate and key of another CA.
    const foreign = await makePki('foreign.sfleet');
    replaceFiles(hubFiles, foreign.hub);
    await waitFor('the foreign certificate refused', () => hub.tls.credentials.stats.refused > refusedBefore + 1);

    writeFileSync(hubFiles.cert, 'not a certificate');
    await waitFor('garbage refused', () => hub.tls.credentials.stats.refused > refusedBefore + 2);

    expect(hub.tls.credentials.serial).toBe(serving);
    expect(await presentedSerial(grpcPort, pki.client)).toBe(serving);
    expect(await presentedSerial(httpPort, pki.client, 'http/1.1')).toBe(serving);
    const res = await fetchClusters();
    expect(res).toBe(200);
    expect(agent.stream.stats.disconnects).toBe(0);
  });
});

describe('agent certificate rotation', () => {
  it('reconnects with the last good files when the ones on disk break, and with new files once they are replaced', async () => {
    const oldSerial = serialOf(agentFiles.cert);
    const session = (): { fail(code: number, details: string): void } => hub.ingest.active.get('rot') as unknown as { fail(code: number, details: string): void };

    // A broken certificate file: the next connection uses what was read before.
    writeFileSync(agentFiles.cert, 'half-written certificate');
    let connects = agent.stream.stats.connects;
    session().fail(status.UNAVAILABLE, 'test: drop the stream');
    await waitFor('a reconnect with the last good files', () => agent.stream.stats.connects > connects && agent.stream.connected);

    // New files on disk, the old certificate revoked: the hub ends the stream, the agent comes back with the new one.
    const fresh = await pki.issue('agent', 'agent-rot', 'rot');
    replaceFiles(agentFiles, fresh);
    connects = agent.stream.stats.connects;
    revokeCertificate(revocationPath(dataDir), { serial: oldSerial, reason: 'rotated' });
    await waitFor('the old stream ended', () => hub.tls.certificates.stats.ended === 1);
    await waitFor('a reconnect with the new certificate', () => agent.stream.stats.connects > connects && agent.stream.connected);
    source.model.job = [...source.model.job, makeJob('rot', 3)];
    await waitFor('deltas over the new stream', () => hub.state.job('rot', '3'));
    expect(hub.ingest.active.has('rot')).toBe(true);
  });
});

async function fetchClusters(): Promise<number> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: httpPort, path: '/api/v1/clusters', servername: 'localhost', ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
