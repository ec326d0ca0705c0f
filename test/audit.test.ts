// The audit log of a real hub process: a cancel and a failed authentication are in the audit
// file when the answer arrives; gRPC commands and agent refusals too; `sfleet audit query` and
// `verify`; shipping to a (fake) Elasticsearch survives its outage; no secret in any log or record.
import { Metadata } from '@grpc/grpc-js';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { FleetServiceClient, type RunCommandResponse } from '../generated/fleet/v1/fleet.js';
import { AuditLog, auditConfigSchema, type AuditRecord } from '../hub/audit/index.js';
import { registerAuditDir, registerSecret, testLogger } from './harness/run-logs.js';
import { grpcClientCredentials } from '../shared/tls/index.js';
import { FakeElasticsearch } from './harness/fake-elasticsearch.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

const ES_PASSWORD = 'es-secret-7c1d2a';
registerSecret(ES_PASSWORD, 'Elasticsearch password of the audit shipper');
registerSecret('k3y-for-the-chain', 'audit HMAC key');
const logger = testLogger('audit');
let work: string;
let dataDir: string;
let auditDir: string;
let pki: TestPki;
let hub: SfleetProcess;
let es: FakeElasticsearch;
let httpPort: number;
let grpcPort: number;
let token: string;
let base: NodeJS.ProcessEnv;
const agents: RunningAgent[] = [];
const source = new ScriptedSource('audit-c');

function call(method: string, path: string, opts: { cert?: boolean; authorization?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; requestId: string; type: string; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      {
        host: '127.0.0.1',
        port: httpPort,
        path,
        method,
        ca: readFileSync(pki.ca),
        ...(opts.cert ? { cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) } : {}),
        headers: { ...opts.headers, ...(opts.authorization ? { authorization: opts.authorization } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        const done = new Promise<string>((r) => res.on('end', () => r(text)));
        // Resolved on the headers: the record must already be on disk by then.
        resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']), type: String(res.headers['content-type']), body: done });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Every record in the audit files right now (read synchronously, straight after an answer). */
function records(dir = auditDir): AuditRecord[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as AuditRecord)
    .filter((l) => l.type === 'record');
}

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), `audit-it-${process.pid}-`));
  dataDir = join(work, 'data');
  auditDir = join(dataDir, 'audit');
  registerAuditDir(auditDir);
  pki = await makePki();
  es = await new FakeElasticsearch().start();
  es.expectAuthorization = `Basic ${Buffer.from(`elastic:${ES_PASSWORD}`).toString('base64')}`;
  httpPort = await freePort();
  grpcPort = await freePort();
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  base = { PATH: process.env.PATH, HOME: home, SFLEET_CONFIG: join(home, 'contexts.yaml') };
  token = (await sfleet(['token', 'create', '--name', 'ci-bot', '--data-dir', dataDir], base)).trim().split('\n').pop()!;
  registerSecret(token, 'API token ci-bot (audit test)');
  writeFileSync(
    join(work, 'hub.yaml'),
    [
      `listen: { http: "127.0.0.1:${httpPort}", grpc: "127.0.0.1:${grpcPort}" }`,
      `tls: { ca: ${pki.hub.ca}, cert: ${pki.hub.cert}, key: ${pki.hub.key} }`,
      `data_dir: ${dataDir}`,
      'hub_id: audit-hub',
      'log_level: debug',
      'audit:',
      '  rules:',
      '    - { level: Metadata, actions: ["audit:*"] }',
      '    - { level: None, actions: ["*:read"] }',
      '    - { level: Request, actions: ["jobs:*"] }',
      '  ship:',
      `    elasticsearch: { url: "${es.url}", index: sfleet-audit, username: elastic, password_env: ES_PW }`,
      '    flush_interval: 50ms',
      '    initial_backoff: 100ms',
      '    max_backoff: 500ms',
      '',
    ].join('\n'),
  );
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log'), { ...process.env, ES_PW: ES_PASSWORD }).start();
  await waitFor('the hub', async () => (await call('GET', '/readyz')).status === 200, 30_000);
  source.model.job = [11, 12, 13, 14, 15, 16].map((id) => makeJob('audit-c', id, { state: 'RUNNING' }));
  agents.push(
    await startTestAgent(
      { cluster: 'audit-c', endpoints: [`127.0.0.1:${grpcPort}`], tls: await pki.agent('audit-c'), spoolDir: mkdtempSync(join(tmpdir(), 'sp-')) },
      { logger, source },
    ),
  );
  await waitFor('the cluster at the hub', async () => (await call('GET', '/api/v1/jobs/audit-c/11', { cert: true })).status === 200);
});

afterAll(async () => {
  for (const a of agents) await a.close();
  await hub?.kill('SIGTERM');
  await es?.close();
});

describe('the audit log of a running hub', () => {
  it('has a cancel in the file when the answer arrives, with who, what, where, and the body', async () => {
    const res = await call('POST', '/api/v1/jobs/audit-c/11/cancel', { cert: true, body: { reason: 'user asked' } });
    expect(res.status).toBe(200);
    const rec = records().find((r) => r.request_id === res.requestId);
    expect(rec).toMatchObject({
      action: 'jobs:cancel',
      resource: 'job audit-c/11',
      outcome: 'success',
      status: 200,
      user: 'tester',
      auth_method: 'mtls',
      source_ip: '127.0.0.1',
      tenant: { cluster: 'audit-c' },
      hub_id: 'audit-hub',
      transport: 'http',
      level: 'Request',
      request: { method: 'POST', path: '/api/v1/jobs/audit-c/11/cancel', body: { reason: 'user asked' } },
    });
  });

  it('has failed authentications in the file when the 401 arrives, without the credential', async () => {
    const bogus = 'sft_not-a-real-token-5e6f';
    const res = await call('POST', '/api/v1/jobs/audit-c/12/hold', { authorization: `Bearer ${bogus}` });
    expect(res.status).toBe(401);
    expect(records().find((r) => r.request_id === res.requestId)).toMatchObject({ action: 'jobs:hold', outcome: 'failed', status: 401, user: null, reason: 'invalid, expired or revoked token', source_ip: '127.0.0.1' });
    const anonymous = await call('GET', '/api/v1/jobs');
    expect(anonymous.status).toBe(401);
    expect(records().find((r) => r.request_id === anonymous.requestId)).toMatchObject({ action: 'jobs:read', outcome: 'failed', status: 401, reason: expect.stringContaining('authentication required') });
    const malformed = await call('POST', '/api/v1/nodes/audit-c/n1/drain', { authorization: 'Basic dXNlcjpwYXNz' });
    expect(records().find((r) => r.request_id === malformed.requestId)).toMatchObject({ action: 'nodes:drain', outcome: 'failed', status: 401, reason: expect.stringContaining('malformed Authorization header') });
    expect(readFileSync(join(auditDir, readdirSync(auditDir).find((f) => f.endsWith('.jsonl'))!), 'utf8')).not.toContain(bogus);
  });

  it('refuses oversize headers with problem+json, recorded before the answer', async () => {
    const before = records().length;
    const res = await call('POST', '/api/v1/jobs/audit-c/12/cancel', { cert: true, headers: { 'x-padding': 'a'.repeat(20_000) } });
    expect(res.status).toBe(431);
    expect(records().slice(before)).toEqual([expect.objectContaining({ action: 'api:request', outcome: 'failed', status: 431, source_ip: '127.0.0.1', reason: expect.stringMatching(/request headers too large/) })]);
    expect(res.type).toBe('application/problem+json');
    expect(JSON.parse(await res.body)).toMatchObject({ status: 431, code: 'SF_API_HEADERS_TOO_LARGE' });
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('does not record successful reads (default rules), but records them when they fail', async () => {
    const ok = await call('GET', '/api/v1/jobs', { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(records().some((r) => r.request_id === ok.requestId)).toBe(false);
    const missing = await call('POST', '/api/v1/jobs/audit-c/999999/cancel', { authorization: `Bearer ${token}` });
    expect(missing.status).toBeGreaterThanOrEqual(400);
    expect(records().find((r) => r.request_id === missing.requestId)).toMatchObject({ action: 'jobs:cancel', outcome: 'failed', user: 'ci-bot', auth_method: 'token' });
  });

  it('records gRPC commands and refused gRPC callers before they get their answer', async () => {
    const creds = grpcClientCredentials({ ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) });
    const client = new FleetServiceClient(`127.0.0.1:${grpcPort}`, creds);
    const res = await new Promise<RunCommandResponse>((resolve, reject) =>
      client.runCommand({ cluster: 'audit-c', kind: 'hold', target: '13', reason: 'grpc' }, new Metadata(), (err, r) => (err ? reject(err) : resolve(r))),
    );
    expect(res.ok).toBe(true);
    expect(records().filter((r) => r.transport === 'grpc' && r.action === 'jobs:hold')).toEqual([
      expect.objectContaining({ resource: 'job audit-c/13', outcome: 'success', user: 'tester', tenant: { cluster: 'audit-c' }, request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) }),
    ]);
    const md = new Metadata();
    md.set('authorization', 'Bearer sft_bogus-grpc-token');
    const err = await new Promise<{ code: number }>((resolve) => client.runCommand({ cluster: 'audit-c', kind: 'cancel', target: '14', reason: '' }, md, (e) => resolve(e as never)));
    expect(err.code).toBe(16);
    // Refused before its message is read (issue 12, bounded before trusted): the record names the call, not the job.
    expect(records().filter((r) => r.transport === 'grpc' && r.outcome === 'failed')).toEqual([expect.objectContaining({ action: 'grpc:runCommand', status: 401, resource: 'FleetService/runCommand', user: null })]);
    // A refused watch stream too (a read, but a failed authentication).
    const stream = client.watch({ cluster: 'audit-c', kinds: '', since: 0 }, md);
    const refused = await new Promise<{ code: number }>((resolve) => stream.on('error', (e) => resolve(e as never)));
    expect(refused.code).toBe(16);
    // Its cluster is in the unread message: the refusal names the call only.
    expect(records().filter((r) => r.transport === 'grpc' && r.action === 'watch:read')).toEqual([expect.objectContaining({ outcome: 'failed', status: 401, resource: 'FleetService/watch', tenant: null })]);
    client.close();
  });

  it('records an agent whose certificate names another cluster, before the stream is refused', async () => {
    const src = new ScriptedSource('other-c');
    const a = await startTestAgent(
      // The certificate of another cluster (audit-c) on purpose.
      { cluster: 'other-c', endpoints: [`127.0.0.1:${grpcPort}`], backoff: ['100ms', '300ms'], tls: await pki.agent('audit-c'), spoolDir: mkdtempSync(join(tmpdir(), 'sp-')) },
      { logger, source: src },
    );
    agents.push(a);
    await waitFor('the refusal', () => a.stream.lastError?.includes('SF_INGEST_WRONG_CLUSTER'));
    expect(records().find((r) => r.action === 'agent:connect')).toMatchObject({ outcome: 'denied', status: 403, resource: 'cluster other-c', transport: 'agent', reason: expect.stringContaining('speaks for cluster "audit-c"') });
    await a.close();
  });

  it('answers sfleet audit query for a caller with audit:read', async () => {
    const env = { ...base, SFLEET_HUB: `https://127.0.0.1:${httpPort}`, SFLEET_CA: pki.ca, SFLEET_CERT: pki.client.cert, SFLEET_KEY: pki.client.key };
    const page = JSON.parse(await sfleet(['audit', 'query', '--action', 'jobs:*', '--outcome', 'success', '-o', 'json'], env)) as AuditRecord[];
    expect(page.map((r) => `${r.action} ${r.resource}`)).toEqual(['jobs:cancel job audit-c/11', 'jobs:hold job audit-c/13']);
    const table = await sfleet(['audit', 'query', '--user', 'tester', '--limit', '1'], env);
    expect(table.split('\n')[0]).toMatch(/^SEQ\s+TIME\s+USER\s+ACTION/);
    await expect(sfleet(['audit', 'query', '--since', 'yesterday'], env)).rejects.toThrow(/since: expected an ISO-8601 time or a duration/);
    // Reading the audit log is itself audited (default rule audit:* at Metadata).
    expect(records().some((r) => r.action === 'audit:read' && r.user === 'tester')).toBe(true);
  });

  it('ships every record to Elasticsearch, through an outage, without blocking requests', async () => {
    await waitFor('shipped so far', () => es.docs.size === records().length);
    es.mode = 'down';
    for (const id of [15, 16]) expect((await call('POST', `/api/v1/jobs/audit-c/${id}/release`, { cert: true })).status).toBeLessThan(500);
    await waitFor('a failed bulk attempt', async () => /sfleet_audit_ship_failures_total\{sink="elasticsearch"\} [1-9]/.test(await metrics()));
    es.mode = 'up';
    await waitFor('everything shipped after the outage', () => es.docs.size === records().length, 20_000);
    const inFile = new Set(records().map((r) => r.id));
    expect(new Set([...es.docs.values()].map((d) => d.id as string))).toEqual(inFile);
    expect(es.refusals).toEqual([]);
  });

  it('sfleet audit verify passes on the live files, then finds an edit', async () => {
    expect(await sfleet(['audit', 'verify', '--data-dir', dataDir], base)).toMatch(/^OK: .*: 1 files, \d+ records \(seq 1\.\.\d+\); the chain starts at the genesis record/);
    const copy = join(work, 'tampered');
    cpSync(auditDir, copy, { recursive: true });
    const file = readdirSync(copy).find((f) => f.endsWith('.jsonl'))!;
    const text = readFileSync(join(copy, file), 'utf8').split('\n');
    const at = text.findIndex((l) => l.includes('"resource":"job audit-c/11"'));
    text[at] = text[at].replace('"user":"tester"', '"user":"someone-else"');
    writeFileSync(join(copy, file), text.join('\n'));
    await expect(sfleet(['audit', 'verify', '--dir', copy], base)).rejects.toThrow(`audit chain broken: ${file} line ${at + 1}: the hash does not match the content: the line was edited`);
  });

  it('sfleet audit verify checks a keyed chain with the key from the environment', async () => {
    const dir = join(work, 'keyed');
    const log = new AuditLog(auditConfigSchema.parse({ dir, hmac_key_env: 'AUDIT_KEY' }), { hubId: 'h', dataDir: work, logger, env: { AUDIT_KEY: 'k3y-for-the-chain' } });
    await log.open();
    await log.record({ action: 'jobs:cancel', outcome: 'success', required: true });
    await log.close();
    expect(await sfleet(['audit', 'verify', '--dir', dir, '--key-env', 'AUDIT_KEY'], { ...base, AUDIT_KEY: 'k3y-for-the-chain' })).toMatch(/^OK: .*: 1 files, 1 of them HMAC-keyed, 1 records/);
    await expect(sfleet(['audit', 'verify', '--dir', dir], base)).rejects.toThrow(/line 1: this file is keyed \(HMAC-SHA256\): verifying it needs the key/);
    await expect(sfleet(['audit', 'verify', '--dir', dir, '--key-env', 'AUDIT_KEY'], { ...base, AUDIT_KEY: 'wrong' })).rejects.toThrow(/the HMAC does not match/);
    await expect(sfleet(['audit', 'verify', '--dir', dir, '--key-env', 'NOT_SET'], base)).rejects.toThrow('audit HMAC key: environment variable NOT_SET is not set');
  });

  it('never writes a secret to the hub log or the audit files', async () => {
    await hub.kill('SIGTERM');
    const everything = readFileSync(join(work, 'hub.log'), 'utf8') + readdirSync(auditDir).map((f) => readFileSync(join(auditDir, f), 'utf8')).join('');
    for (const secret of [ES_PASSWORD, Buffer.from(`elastic:${ES_PASSWORD}`).toString('base64'), token, 'sft_not-a-real-token-5e6f', 'sft_bogus-grpc-token', 'dXNlcjpwYXNz']) {
      expect(everything).not.toContain(secret);
    }
    expect(readFileSync(join(work, 'hub.log'), 'utf8')).toContain('audit shipping failed; retrying with backoff');
  });
});

async function metrics(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: httpPort, path: '/metrics', ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
