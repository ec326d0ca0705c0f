// A throw-away fleet CA for one bench run: the hub's certificate, one client and agents.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCa, issueCertificate, type TlsFiles } from '../../../shared/tls/index.js';

export interface BenchPki {
  dir: string;
  ca: string;
  hub: TlsFiles;
  client: TlsFiles;
  agent(cluster: string): Promise<TlsFiles>;
}

export async function makePki(root = tmpdir()): Promise<BenchPki> {
  const dir = mkdtempSync(join(root, 'sfleet-bench-pki-'));
  await initCa(dir, { trustDomain: 'bench.sfleet' });
  const ca = join(dir, 'ca.pem');
  const issue = async (role: 'agent' | 'hub' | 'client', name: string, cluster?: string): Promise<TlsFiles> => {
    const out = await issueCertificate(dir, { role, name, cluster });
    return { ca, cert: out.cert, key: out.key };
  };
  const agents = new Map<string, Promise<TlsFiles>>();
  return {
    dir,
    ca,
    hub: await issue('hub', 'bench-hub'),
    client: await issue('client', 'bench'),
    agent(cluster) {
      let files = agents.get(cluster);
      if (!files) agents.set(cluster, (files = issue('agent', `agent-${cluster}`, cluster)));
      return files;
    },
  };
}
