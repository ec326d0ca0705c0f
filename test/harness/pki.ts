// A throw-away fleet CA with the certificates a test needs.
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

export async function makePki(trustDomain = 'test.sfleet'): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'sfleet-pki-'));
  await initCa(dir, { trustDomain });
  registerSecret(readFileSync(join(dir, 'ca-key.pem'), 'utf8'), `CA private key of ${trustDomain}`);
  const ca = join(dir, 'ca.pem');
  const issue = async (role: 'agent' | 'hub' | 'client', name: string, cluster?: string): Promise<TlsFiles> => {
    const out = await issueCertificate(dir, { role, name, cluster });
    registerSecret(readFileSync(out.key, 'utf8'), `TLS private key of ${role} ${name}`);
    return { ca, cert: out.cert, key: out.key };
  };
  return {
    dir,
    ca,
    hub: await issue('hub', 'hub'),
    client: await issue('client', 'tester'),
    agent: (cluster, name = `agent-${cluster}`) => issue('agent', name, cluster),
    issue,
  };
}
