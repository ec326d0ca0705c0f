// A throw-away fleet CA with the certificates a test, a benchmark or a chaos run needs.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCa, issueCertificate, type TlsFiles } from '../../shared/tls/index.js';
import { registerSecret } from '../../scripts/test/run-dir.js';

export interface TestPki {
  dir: string;
  ca: string;
  hub: TlsFiles;
  client: TlsFiles;
  agent(cluster: string, name?: string): Promise<TlsFiles>;
  issue(role: 'agent' | 'hub' | 'client', name: string, cluster?: string): Promise<TlsFiles>;
}

export interface PkiOptions {
  trustDomain?: string;
  /** The CA's directory (created); default a fresh one under `parent`. */
  dir?: string;
  /** Where the fresh directory goes (default the system's tmpdir). */
  parent?: string;
  /** Names of the hub's and the client's certificates (default hub, tester). */
  hubName?: string;
  clientName?: string;
  /** More names and addresses in the hub's certificate (chaos's netns mode: the hubs' addresses). */
  hubSans?: string[];
  /**
   * One certificate per agent name for the life of the CA: asking again returns the files issued
   * first instead of overwriting them under a running agent (the benchmarks). Default: a new one each time.
   */
  reuseAgents?: boolean;
  /** Register the private keys for the secrets scan of the test run (default; not for bench and chaos). */
  registerSecrets?: boolean;
}

export async function makePki(trustDomain = 'test.sfleet', options: Omit<PkiOptions, 'trustDomain'> = {}): Promise<TestPki> {
  const { registerSecrets = true } = options;
  const dir = options.dir ?? mkdtempSync(join(options.parent ?? tmpdir(), 'sfleet-pki-'));
  await initCa(dir, { trustDomain });
  if (registerSecrets) registerSecret(readFileSync(join(dir, 'ca-key.pem'), 'utf8'), `CA private key of ${trustDomain}`);
  const ca = join(dir, 'ca.pem');
  const issue = async (role: 'agent' | 'hub' | 'client', name: string, cluster?: string): Promise<TlsFiles> => {
    const out = await issueCertificate(dir, { role, name, cluster, ...(role === 'hub' && options.hubSans ? { sans: options.hubSans } : {}) });
    if (registerSecrets) registerSecret(readFileSync(out.key, 'utf8'), `TLS private key of ${role} ${name}`);
    return { ca, cert: out.cert, key: out.key };
  };
  const agents = new Map<string, Promise<TlsFiles>>();
  return {
    dir,
    ca,
    hub: await issue('hub', options.hubName ?? 'hub'),
    client: await issue('client', options.clientName ?? 'tester'),
    agent: (cluster, name = `agent-${cluster}`) => {
      if (!options.reuseAgents) return issue('agent', name, cluster);
      let files = agents.get(name);
      if (!files) agents.set(name, (files = issue('agent', name, cluster)));
      return files;
    },
    issue,
  };
}
