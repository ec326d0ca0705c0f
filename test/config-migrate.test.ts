// `sfleet config migrate --from s9s.yaml`, the way an s9s user moving over would use it: the
// configurations it writes pass `config validate`, a hub and an agent start from them as
// written (only ports and directories of this test machine set on the command line), the
// agent's token comes from the 0600 agent.env and never from the YAML, and s9s's readOnly
// cluster becomes a role that can read and not act.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { execText, freePorts, httpsCall, SFLEET, SfleetProcess, waitFor } from './harness/index.js';
import { registerAuditDir, registerSecret } from './harness/run-logs.js';

const dir = mkdtempSync(join(tmpdir(), 'sfleet-migrate-'));
const TOKEN = 'migrate-test-token-7f3c';
registerSecret(TOKEN, 'the s9s token in the migrate test');
const children: SfleetProcess[] = [];

const sfleet = (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> => execText(process.execPath, [SFLEET, ...args], { env, timeoutMs: 60_000, what: `sfleet ${args.slice(0, 2).join(' ')}` });

/** agent.env as systemd's EnvironmentFile= reads it: NAME=value lines, # comments. */
function environmentFile(path: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill('SIGTERM')));
});

describe('sfleet config migrate from s9s', () => {
  it('writes configurations that validate and start a hub and an agent streaming the s9s cluster', async () => {
    const [http, grpc, sim] = await freePorts(3);
    const pki = join(dir, 'pki');
    await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'migrate.test']);
    await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub']);
    await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'simprod-agent', '--cluster', 'simprod']);
    await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'admin']);
    await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'watcher']);

    const s9s = join(dir, 's9s.yaml');
    writeFileSync(
      s9s,
      stringify({
        refreshRate: '1s',
        maxRetries: 3,
        defaultCluster: 'simprod',
        clusters: [{ name: 'simprod', cluster: { endpoint: `http://127.0.0.1:${sim}`, token: '${S9S_PROD_JWT}', user: 'root', timeout: '15s' }, namespace: 'default', readOnly: true }],
        ui: { skin: 'dracula' },
      }),
    );
    const out = join(dir, 'out');
    const report = await sfleet(['config', 'migrate', '--from', s9s, '--out', out, '--hub', `127.0.0.1:${grpc}`, '--pki-dir', pki], { ...process.env, S9S_PROD_JWT: TOKEN });
    expect(report).toMatch(/not mapped:[\s\S]*maxRetries[\s\S]*ui: terminal UI/);
    expect(report).not.toContain(TOKEN);

    const agentYaml = join(out, 'simprod', 'agent.yaml');
    const agentEnv = join(out, 'simprod', 'agent.env');
    expect(readFileSync(agentYaml, 'utf8')).not.toContain(TOKEN);
    expect(statSync(agentEnv).mode & 0o777).toBe(0o600);
    expect(environmentFile(agentEnv)).toEqual({ SLURM_JWT: TOKEN });
    expect(await sfleet(['config', 'validate', '--no-require-env', join(out, 'hub.yaml'), agentYaml])).toMatch(/hub\.yaml: valid hub configuration[\s\S]*agent\.yaml: valid agent configuration/);

    // The operator's one step the report asks for: bind people to the s9s role.
    const hubConfig = parse(readFileSync(join(out, 'hub.yaml'), 'utf8')) as { rbac: { bindings: unknown[] } };
    hubConfig.rbac.bindings.push({ client: 'watcher', role: 's9s_simprod_readonly' });
    writeFileSync(join(out, 'hub.yaml'), stringify(hubConfig));

    const data = join(dir, 'data');
    registerAuditDir(join(data, 'audit'));
    const log = (name: string): string => join(dir, `${name}.log`);
    children.push(
      new SfleetProcess(['sim', '--listen', `127.0.0.1:${sim}`, '--nodes', '6', '--jobs', '12', '--token', TOKEN], log('sim')).start(),
      new SfleetProcess(['hub', '--config', join(out, 'hub.yaml'), '--set', `listen.http=127.0.0.1:${http}`, '--set', `listen.grpc=127.0.0.1:${grpc}`, '--set', `data_dir=${data}`], log('hub')).start(),
      new SfleetProcess(['agent', '--config', agentYaml, '--set', `spool_dir=${join(dir, 'spool')}`], log('agent'), { ...process.env, ...environmentFile(agentEnv) }).start(),
    );
    const call = (who: string, path: string, method = 'GET') =>
      httpsCall(`https://127.0.0.1:${http}${path}`, { method, ca: join(pki, 'ca.pem'), cert: join(pki, `${who}.pem`), key: join(pki, `${who}-key.pem`), timeoutMs: 5_000, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: {} } : {}) });

    let jobIds: string[] = [];
    await waitFor(
      'the migrated agent streams the s9s cluster to the migrated hub',
      async () => {
        for (const c of children) if (!c.alive) throw new Error(`${c.args[0]} exited: ${readFileSync(c.logFile, 'utf8').slice(-1500)}`);
        const answer = await call('admin', '/api/v1/jobs?cluster=simprod&limit=100').catch(() => undefined);
        jobIds = answer?.status === 200 ? (JSON.parse(answer.body) as { items: { id: string }[] }).items.map((j) => j.id) : [];
        return jobIds.length > 0;
      },
      60_000,
    );

    // readOnly: true in s9s: the bound person reads the cluster's jobs and cannot cancel one.
    const read = await call('watcher', '/api/v1/jobs?cluster=simprod&limit=5');
    expect(read.status).toBe(200);
    const cancel = await call('watcher', `/api/v1/jobs/simprod/${jobIds[0]}/cancel`, 'POST');
    expect(cancel.status).toBe(403);
    expect(readFileSync(log('agent'), 'utf8')).not.toContain(TOKEN);
  }, 120_000);
});
