// Encryption at rest end to end: an agent and a hub with encryption on (file keyring) keep no
// job user, account or name in clear on disk; restarts read everything back; `sfleet keys
// rotate` (built binary) re-wraps every file, while the hub runs, and all stays readable; a
// token created by the CLI into the sealed tokens.json authenticates at the running hub.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RunningAgent } from '../agent/main.js';
import { HubClient } from '../cli/client/index.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { registerAuditDir, registerKeyring, registerSecret, testLogger } from './harness/run-logs.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { agentConfig, startTestAgent, type TestAgentConfig } from './harness/test-agent.js';

const logger = testLogger('encryption-at-rest');
const SECRETS = ['alice-the-physicist', 'acct-dark-matter', 'protein-fold-run'];
let pki: TestPki;
let root: string;
let grpcPort: number;
let httpPort: number;
let hubYaml: string;
let agentYaml: string;

function hubRaw(): Record<string, unknown> {
  return {
    hub_id: 'enc-hub',
    listen: { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` },
    tls: pki.hub,
    data_dir: join(root, 'hub-data'),
    encryption: { enabled: true, provider: 'file', file: { path: join(root, 'hub-keyring.json') } },
  };
}

/** The agent's settings; agentConfig() of them is the raw config (agent.yaml for the CLI). */
async function agentSettings(): Promise<TestAgentConfig> {
  return {
    cluster: 'enc',
    name: 'head1',
    endpoints: [`127.0.0.1:${grpcPort}`],
    backoff: ['100ms', '500ms'],
    tls: await pki.agent('enc', 'agent-enc'),
    spoolDir: join(root, 'spool'),
    extra: { encryption: { enabled: true, provider: 'file', file: { path: join(root, 'agent-keyring.json') } } },
  };
}

const hub = (): Promise<RunningHub> => startHub(hubConfigSchema.parse(hubRaw()), { logger });
const agent = async (source: ScriptedSource): Promise<RunningAgent> => startTestAgent(await agentSettings(), { logger, source });
const api = (token?: string): HubClient =>
  new HubClient(token ? { hub: `https://127.0.0.1:${httpPort}`, ca: pki.ca, token } : { hub: `https://127.0.0.1:${httpPort}`, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });

/** Every file under `dir` that holds one of the words in clear. */
function leaks(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const bytes = readFileSync(path);
    for (const word of SECRETS) if (bytes.includes(Buffer.from(word))) out.push(`${name}: ${word}`);
  }
  return out;
}

async function jobsAtHub(): Promise<string[]> {
  const list = await api().all<{ id: number; user: string; account: string; name: string; state: string }>('/api/v1/jobs', {});
  return list.map((j) => `${j.id}:${j.user}:${j.account}:${j.name}:${j.state}`);
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  root = mkdtempSync(join(tmpdir(), `sfleet-enc-${process.pid}-`));
  grpcPort = await freePort();
  httpPort = await freePort();
  hubYaml = join(root, 'hub.yaml');
  writeFileSync(hubYaml, stringify(hubRaw()));
  agentYaml = join(root, 'agent.yaml');
  writeFileSync(agentYaml, stringify(agentConfig(await agentSettings())));
});

describe('encryption at rest, agent and hub', () => {
  const source = new ScriptedSource('enc');
  let h: RunningHub | undefined;
  let a: RunningAgent | undefined;
  afterAll(async () => {
    await a?.close();
    await h?.close();
  });

  it('delivers jobs while nothing about them is readable in the spool or the data directory', async () => {
    source.model.job = [
      makeJob('enc', 1, { user: SECRETS[0], account: SECRETS[1], name: SECRETS[2] }),
      makeJob('enc', 2, { user: SECRETS[0], account: SECRETS[1], name: `${SECRETS[2]}-2`, state: 'RUNNING', nodes: ['n1'], node_list: 'n1' }),
    ];
    source.model.node = [makeNode('enc', 'n1', { state: 'MIXED', alloc_cpus: 1 })];
    h = await hub();
    a = await agent(source);
    registerKeyring(join(root, 'hub-keyring.json'), 'hub keyring');
    registerKeyring(join(root, 'agent-keyring.json'), 'agent keyring');
    registerAuditDir(join(root, 'hub-data', 'audit'));
    await waitFor('jobs at the hub', async () => (await jobsAtHub()).length === 2);
    await waitFor('spool drained', () => a!.spool.unacked().length === 0);
    expect(leaks(join(root, 'spool'))).toEqual([]);
    expect(leaks(join(root, 'hub-data'))).toEqual([]);
    const status = JSON.parse(await sfleet(['keys', 'status', '--config', hubYaml, '-o', 'json'], process.env)) as { file: string; encrypted: boolean; key_version: number }[];
    expect(status.filter((f) => f.encrypted).map((f) => f.file).sort()).toEqual(['clusters/enc/checkpoint.bin', 'clusters/enc/wal.log', 'events/events.log']);
    expect(status.every((f) => !f.encrypted || f.key_version === 1)).toBe(true);
  });

  it('a restarted hub and agent read their sealed state back', async () => {
    await a!.close();
    await h!.close();
    h = await hub();
    // Served from the sealed data directory at once, before the agent is back.
    expect(await jobsAtHub()).toEqual([`1:${SECRETS[0]}:${SECRETS[1]}:${SECRETS[2]}:PENDING`, `2:${SECRETS[0]}:${SECRETS[1]}:${SECRETS[2]}-2:RUNNING`]);
    a = await agent(source);
    expect(a.spool.objectCount).toBe(3);
    source.model.job[0].state = 'RUNNING';
    await waitFor('change delivered', async () => (await jobsAtHub())[0].endsWith(':RUNNING'));
    expect(h.ingest.stats.snapshots).toBe(0);
  });

  it('sfleet keys rotate re-wraps every file while hub and agent run; all stays readable after a restart', async () => {
    const hubOut = await sfleet(['keys', 'rotate', '--config', hubYaml], process.env);
    expect(hubOut).toMatch(/file key kr-[0-9a-f]+: created version v2\nre-wrapped 3 file\(s\)/);
    const agentOut = await sfleet(['keys', 'rotate', '--config', agentYaml], process.env);
    registerKeyring(join(root, 'hub-keyring.json'), 'hub keyring');
    registerKeyring(join(root, 'agent-keyring.json'), 'agent keyring');
    expect(agentOut).toMatch(/created version v2\nre-wrapped [12] file\(s\)/);
    // The running processes keep appending to the files whose headers were swapped.
    source.model.job[1].state = 'COMPLETED';
    await waitFor('change after rotation delivered', async () => (await jobsAtHub())[1].endsWith(':COMPLETED'));
    const status = JSON.parse(await sfleet(['keys', 'status', '--config', agentYaml, '-o', 'json'], process.env)) as { encrypted: boolean; key_version: number }[];
    expect(status.filter((f) => f.encrypted).every((f) => f.key_version === 2)).toBe(true);

    await a!.close();
    await h!.close();
    h = await hub();
    expect(await jobsAtHub()).toEqual([`1:${SECRETS[0]}:${SECRETS[1]}:${SECRETS[2]}:RUNNING`, `2:${SECRETS[0]}:${SECRETS[1]}:${SECRETS[2]}-2:COMPLETED`]);
    a = await agent(source);
    expect(a.spool.objectCount).toBe(3);
    expect(leaks(join(root, 'spool'))).toEqual([]);
    expect(leaks(join(root, 'hub-data'))).toEqual([]);
  });

  it('a token created by the CLI into the sealed tokens.json authenticates at the running hub', async () => {
    const out = await sfleet(['token', 'create', '--name', 'grafana-enc', '--config', hubYaml], process.env);
    const token = out.trim().split('\n').pop()!;
    registerSecret(token, 'API token grafana-enc (encryption test)');
    expect(readFileSync(join(root, 'hub-data', 'tokens.json')).includes(Buffer.from('grafana-enc'))).toBe(false);
    const jobs = await waitFor('token accepted', async () => {
      try {
        return await api(token).all<{ id: number }>('/api/v1/jobs', {});
      } catch {
        return undefined;
      }
    }, 10_000, 300);
    expect(jobs.map((j) => j.id)).toEqual([1, 2]);
  });

  it('a hub with the wrong keyring refuses to start, naming the file and the key', async () => {
    await a!.close();
    a = undefined;
    await h!.close();
    h = undefined;
    const wrong = { ...hubRaw(), encryption: { enabled: true, provider: 'file', file: { path: join(root, 'other-keyring.json') } } };
    await expect(startHub(hubConfigSchema.parse(wrong), { logger })).rejects.toThrow(/hub-data\/(clusters\/enc\/(checkpoint\.bin|wal\.log)|events\/events\.log|tokens\.json): sealed with file key kr-[0-9a-f]+ v2, but the configured key is file key kr-/);
    // The CLI never invents a keyring: rotating with a wrong path is refused, nothing touched.
    const missing = join(root, 'hub-missing-keyring.yaml');
    writeFileSync(missing, stringify({ ...hubRaw(), encryption: { enabled: true, provider: 'file', file: { path: join(root, 'nowhere.json') } } }));
    await expect(sfleet(['keys', 'rotate', '--config', missing], process.env)).rejects.toThrow(/keyring .*nowhere\.json does not exist/);
    const plain = { ...hubRaw(), encryption: { enabled: false } };
    await expect(startHub(hubConfigSchema.parse(plain), { logger })).rejects.toThrow(/is encrypted with file key kr-[0-9a-f]+ v2: enable encryption/);
  });
});
