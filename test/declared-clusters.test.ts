// hub.yaml's clusters: map, as a site declaring its clusters would use it: the hub lists each
// declared cluster before any agent streams for it ("expected, no agent" in `sfleet clusters`)
// and alerts on it (cluster_expected_missing); `sfleet config agent-for` writes the cluster's
// agent.yaml from the map (its endpoints, and load_balancing: strategy, health_check_interval,
// failover_threshold), which `config validate` accepts and which starts an agent as written:
// the first endpoint is dead, so the agent fails over to the second (the simulator) and the hub
// records the dead one's controller_down event.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { execText, freePorts, httpsCall, makePki, SFLEET, SfleetProcess, waitFor } from './harness/index.js';
import { registerAuditDir, registerSecret } from './harness/run-logs.js';

const dir = mkdtempSync(join(tmpdir(), 'sfleet-declared-'));
const TOKEN = 'declared-clusters-jwt-41ac';
registerSecret(TOKEN, 'the simulator token of the declared-clusters test');
const children: SfleetProcess[] = [];

const sfleet = (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> => execText(process.execPath, [SFLEET, ...args], { env, timeoutMs: 60_000, what: `sfleet ${args.slice(0, 3).join(' ')}` });

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill('SIGTERM')));
});

interface ClusterRow { name: string; state: string; connected: boolean; jobs: number; declared: boolean }
interface AlertRow { labels: Record<string, string>; state: string }

describe('hub.yaml clusters: map', () => {
  it('lists and alerts on declared clusters without an agent, and agent-for writes an agent that streams one of them', async () => {
    const [http, grpc, sim, dead] = await freePorts(4);
    const pki = await makePki('declared.test');
    // Where `sfleet ca issue --name simprod-agent` puts it, and agent-for points.
    await pki.agent('simprod', 'simprod-agent');

    const data = join(dir, 'data');
    registerAuditDir(join(data, 'audit'));
    const hubYaml = join(dir, 'hub.yaml');
    writeFileSync(
      hubYaml,
      stringify({
        listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` },
        tls: { ca: pki.ca, cert: pki.hub.cert, key: pki.hub.key },
        data_dir: data,
        alerting: { evaluation_interval: '1s', keep_firing_for: '1s', rules: { cluster_expected_missing: { for: 0 } } },
        clusters: {
          simprod: { endpoints: [`http://127.0.0.1:${dead}`, `http://127.0.0.1:${sim}`], load_balancing: { strategy: 'failover', health_check_interval: '1s', failover_threshold: 1 } },
          faraway: { endpoints: ['https://slurm-far.invalid:6820'] },
        },
      }),
    );

    const log = (name: string): string => join(dir, `${name}.log`);
    const hub = new SfleetProcess(['hub', '--config', hubYaml], log('hub')).start();
    children.push(hub);
    const cli = { ...process.env, SFLEET_HUB: `https://127.0.0.1:${http}`, SFLEET_CA: pki.ca, SFLEET_CERT: pki.client.cert, SFLEET_KEY: pki.client.key };
    // Polls go straight to the API (a CLI process per poll is slow); what a user reads goes through sfleet.
    const get = async <T>(path: string): Promise<T> => {
      const answer = await httpsCall(`https://127.0.0.1:${http}${path}`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 5_000 });
      if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${answer.body}`);
      return (JSON.parse(answer.body) as { items: T }).items;
    };
    const clusters = async (): Promise<Map<string, ClusterRow>> => new Map((await get<ClusterRow[]>('/api/v1/clusters')).map((c) => [c.name, c]));
    const missingIn = (alerts: AlertRow[]): string[] => alerts.filter((a) => a.labels.alertname === 'cluster_expected_missing').map((a) => a.labels.cluster).sort();
    const missing = async (): Promise<string[]> => missingIn(await get<AlertRow[]>('/api/v1/alerts?state=firing'));

    // Before any agent: both declared clusters are listed as expected, and both are alerts.
    await waitFor('the hub answers', async () => {
      if (!hub.alive) throw new Error(`hub exited: ${readFileSync(hub.logFile, 'utf8').slice(-1500)}`);
      return (await clusters().catch(() => undefined)) !== undefined;
    }, 60_000);
    const table = await sfleet(['clusters'], cli);
    expect(table).toMatch(/^faraway\s+no\s+expected, no agent/m);
    expect(table).toMatch(/^simprod\s+no\s+expected, no agent/m);
    await waitFor('cluster_expected_missing fires for both declared clusters', async () => (await missing()).join() === 'faraway,simprod', 30_000);
    expect(missingIn(JSON.parse(await sfleet(['alerts', 'list', '--state', 'firing', '-o', 'json'], cli)) as AlertRow[])).toEqual(['faraway', 'simprod']);

    // agent-for writes simprod's agent.yaml; validate accepts it; a cluster not in the map is refused.
    const agentYaml = join(dir, 'simprod-agent.yaml');
    await sfleet(['config', 'agent-for', 'simprod', '--config', hubYaml, '--pki-dir', pki.dir, '--spool-dir', join(dir, 'spool'), '--out', agentYaml]);
    expect(readFileSync(agentYaml, 'utf8')).toContain(`- http://127.0.0.1:${dead}\n    - http://127.0.0.1:${sim}`);
    expect(await sfleet(['config', 'validate', hubYaml, agentYaml], { ...process.env, SLURM_JWT: TOKEN })).toMatch(/hub\.yaml: valid hub configuration\n.*simprod-agent\.yaml: valid agent configuration/);
    await expect(sfleet(['config', 'agent-for', 'elsewhere', '--config', hubYaml])).rejects.toThrow(/cluster "elsewhere" is not declared in .*hub\.yaml: its clusters: map declares simprod, faraway/);

    // The agent starts from the file as written; its first endpoint is dead, the second answers.
    children.push(
      new SfleetProcess(['sim', '--listen', `127.0.0.1:${sim}`, '--nodes', '4', '--jobs', '8', '--token', TOKEN], log('sim')).start(),
      new SfleetProcess(['agent', '--config', agentYaml], log('agent'), { ...process.env, SLURM_JWT: TOKEN }).start(),
    );
    await waitFor('the agent written by agent-for streams simprod', async () => {
      for (const c of children) if (!c.alive) throw new Error(`${c.args[0]} exited: ${readFileSync(c.logFile, 'utf8').slice(-1500)}`);
      const row = (await clusters()).get('simprod');
      return row?.state === 'connected' && row.jobs > 0;
    }, 60_000);
    const after = await clusters();
    expect(after.get('simprod')).toMatchObject({ connected: true, declared: true });
    expect(after.get('faraway')).toMatchObject({ state: 'expected, no agent', connected: false, declared: true });
    await waitFor('the alert of simprod resolves; faraway stays missing', async () => (await missing()).join() === 'faraway', 30_000);

    // load_balancing reached the agent: the dead endpoint was marked down (failover_threshold 1).
    await waitFor('the hub holds the dead endpoint\'s controller_down event', async () => JSON.stringify(await get<unknown[]>('/api/v1/events?cluster=simprod&type=controller_down')).includes(`http://127.0.0.1:${dead}`), 30_000);
    expect(readFileSync(log('agent'), 'utf8')).not.toContain(TOKEN);
  }, 150_000);
});
