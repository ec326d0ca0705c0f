// One hub and one agent on the real Slurm 22.05, as the real-Slurm tests of quotas and submission
// run them: a throw-away CA (hub1, head1), the hub on free loopback ports with the test's extra
// config, the agent on slurmrestd (or the test's own `slurm:` section), API tokens for the named
// callers, and both started and waited for until the hub lists the cluster as connected.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.js';
import { registerSecret } from './run-logs.js';
import { sfleet, SfleetProcess } from './sfleet-process.js';
import type { SlurmEnv } from './slurm.js';
import { waitFor } from './wait.js';

export interface RealSlurmFleetOptions {
  /** Names the scratch directory, the trust domain and the tokens in the secrets scan. */
  name: string;
  slurm: SlurmEnv;
  /** Top-level hub config on top of listen, tls, data_dir and log_level (multi_tenancy, submit...). */
  hub?: Record<string, unknown>;
  /** Top-level agent config on top of the defaults (a `slurm:` section replaces the slurmrestd one). */
  agent?: Record<string, unknown>;
  /** The agent's environment (default: this process's, with the slurmrestd token the default config reads). */
  agentEnv?: NodeJS.ProcessEnv;
  /** API tokens to create, by caller name; the first one waits for the agent, so it must see the cluster. */
  tokens: string[];
}

export interface Answer {
  status: number;
  json: Record<string, unknown>;
}

export interface RealSlurmFleet {
  work: string;
  ca: string;
  hubUrl: string;
  hub: SfleetProcess;
  agent: SfleetProcess;
  tokens: Record<string, string>;
  /** One HTTPS request as `token`'s caller; a body is sent as JSON. Never throws on an HTTP status. */
  call(method: string, path: string, token: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  /** SIGTERM to the agent, then the hub. */
  stop(): Promise<void>;
}

export async function startRealSlurmFleet(opts: RealSlurmFleetOptions): Promise<RealSlurmFleet> {
  const { slurm } = opts;
  const work = mkdtempSync(join(tmpdir(), `sfleet-${opts.name}-`));
  const pki = join(work, 'pki');
  const ca = `${pki}/ca.pem`;
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', `${opts.name}.test`], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', slurm.cluster], process.env);
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const hubUrl = `https://127.0.0.1:${httpPort}`;
  writeFileSync(
    join(work, 'hub.yaml'),
    stringify({
      listen: { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` },
      tls: { ca, cert: `${pki}/hub1.pem`, key: `${pki}/hub1-key.pem` },
      data_dir: join(work, 'hub-data'),
      log_level: 'warn',
      ...opts.hub,
    }),
  );
  writeFileSync(
    join(work, 'agent.yaml'),
    stringify({
      cluster: slurm.cluster,
      name: 'head1',
      hub: { endpoints: [`127.0.0.1:${grpcPort}`], initial_backoff: '200ms', max_backoff: '1s' },
      tls: { ca, cert: `${pki}/head1.pem`, key: `${pki}/head1-key.pem` },
      slurm: { source: 'rest', endpoints: [slurm.restUrl], auth: { user: slurm.restUser, token: '${SFLEET_TEST_SLURM_JWT}' } },
      poll_interval: '1s',
      spool_dir: join(work, 'spool'),
      ...opts.agent,
    }),
  );
  const tokens: Record<string, string> = {};
  for (const name of opts.tokens) {
    const out = await sfleet(['token', 'create', '--name', name, '--data-dir', join(work, 'hub-data')], { PATH: process.env.PATH, HOME: work });
    tokens[name] = out.trim().split('\n').pop()!;
    registerSecret(tokens[name], `API token ${name} (${opts.name})`);
  }
  const call = (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const sent: Record<string, string | number> = { ...headers, authorization: `Bearer ${token}` };
      if (payload) Object.assign(sent, { 'content-type': 'application/json', 'content-length': payload.length });
      const req = request(`${hubUrl}${path}`, { method, ca: readFileSync(ca), headers: sent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  };
  const hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log')).start();
  const agent = new SfleetProcess(['agent', '--config', join(work, 'agent.yaml')], join(work, 'agent.log'), opts.agentEnv ?? { ...process.env, SFLEET_TEST_SLURM_JWT: slurm.jwt }).start();
  const fleet: RealSlurmFleet = {
    work, ca, hubUrl, hub, agent, tokens, call,
    stop: async () => {
      await agent.kill('SIGTERM');
      await hub.kill('SIGTERM');
    },
  };
  try {
    await waitFor('agent connected', async () => {
      const res = await call('GET', '/api/v1/clusters', tokens[opts.tokens[0]]).catch(() => undefined);
      return res?.status === 200 && JSON.stringify(res.json).includes('"connected":true');
      // A hub and an agent starting on a loaded machine (CI shares it with other suites).
    }, 90_000, 250);
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}
