// security.encryption.tls on the fleet's clients: each client built with cipher_suites
// ["TLS_AES_256_GCM_SHA384"] fails to reach a server that offers only TLS_AES_128_GCM_SHA256 (no
// handshake completes), and completes one with a server that offers the allowed suite. Real TLS
// handshakes on loopback; the hub's own listeners are test/tls-cipher-suites.test.ts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultTransitProvider } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { grpcClientCredentials, initCa, issueCertificate, loadTls, type TlsMaterial, type TlsPolicy } from '../../shared/tls/index.js';
import { Federation } from '../federation/index.js';
import { ldapConfigSchema } from '../login/config.js';
import { LdapDirectory } from '../login/ldap/ldap-directory.js';
import { HubClient } from '../../cli/client/hub-client.js';
import { resolveConnection } from '../../cli/client/connection.js';
import { elasticsearchShipSchema, webhookShipSchema } from '../audit/config.js';
import { ElasticsearchSink } from '../audit/ship/elasticsearch.js';
import { WebhookSink } from '../audit/ship/webhook.js';
import type { AuditRecord } from '../audit/index.js';
import { request as channelRequest } from '../alerting/notify/http.js';
import { ConfluenceClient } from '../confluence/client.js';
import { confluenceConfigSchema } from '../confluence/config.js';

const ALLOWED: TlsPolicy = { cipherSuites: ['TLS_AES_256_GCM_SHA384'] };
let caDir: string;
let client: TlsMaterial;
let serverFiles: { ca: string; cert: string; key: string };
const servers: Server[] = [];

interface Peer {
  port: number;
  /** Handshakes the server completed. */
  handshakes: () => number;
}

/** An HTTPS server (answering {"items": []}) that offers only `suite`. */
async function serverOffering(suite: string): Promise<Peer> {
  let handshakes = 0;
  const server = createServer(
    { ca: readFileSync(serverFiles.ca), cert: readFileSync(serverFiles.cert), key: readFileSync(serverFiles.key), minVersion: 'TLSv1.3', ciphers: suite, ALPNProtocols: ['h2', 'http/1.1'] },
    (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[]}'),
  );
  server.on('secureConnection', () => handshakes++);
  // An h2 client (gRPC) gets no HTTP/2 answer here; the handshake is what is measured.
  server.on('tlsClientError', () => undefined);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, handshakes: () => handshakes };
}

beforeAll(async () => {
  caDir = mkdtempSync(join(tmpdir(), `suites-${process.pid}-`));
  await initCa(caDir, { trustDomain: 'suites.test' });
  const hub = await issueCertificate(caDir, { role: 'hub', name: 'peer' });
  serverFiles = { ca: join(caDir, 'ca.pem'), cert: hub.cert, key: hub.key };
  const agent = await issueCertificate(caDir, { role: 'agent', name: 'head1', cluster: 'c1' });
  client = loadTls({ ca: join(caDir, 'ca.pem'), cert: agent.cert, key: agent.key }, 'test', ALLOWED);
});

afterAll(() => {
  for (const s of servers) s.close();
});

const record = { type: 'record', seq: 1, id: 'r1', timestamp: new Date(0).toISOString(), level: 'Metadata', hub_id: 'h', user: 'u', action: 'jobs:read', resource: 'jobs', outcome: 'success' } as unknown as AuditRecord;

const clients: Record<string, (port: number) => Promise<unknown>> = {
  'agent (gRPC to the hub)': (port) =>
    new Promise((resolve, reject) => {
      const c = new Client(`127.0.0.1:${port}`, grpcClientCredentials(client));
      c.waitForReady(Date.now() + 1_500, (err) => {
        c.close();
        if (err) reject(err);
        else resolve(undefined);
      });
    }),
  'federation (HTTPS to a peer region)': async (port) => {
    const f = new Federation({ region: 'here', peers: [{ name: 'there', url: `https://127.0.0.1:${port}`, timeout: 2_000 }], tls: client });
    const answer = await f.query('clusters', {}, () => ({ items: [] }));
    if (answer.partial.length) throw new Error(`peer left out: ${answer.partial.join()}`);
  },
  'LDAP (ldaps://)': async (port) => {
    const config = ldapConfigSchema.parse({ url: `ldaps://localhost:${port}`, ca_file: serverFiles.ca, user_dn_template: 'uid={username},ou=people,dc=x', timeout: '1s', connect_timeout: '1s' });
    await new LdapDirectory(config, silentLogger(), {}, ALLOWED).authenticate('alice', 'pw');
  },
  // The CLI takes the suites from SFLEET_CIPHER_SUITES (or its context's cipher_suites).
  'CLI (HTTPS to the hub)': async (port) => {
    const conn = resolveConnection({ hub: `https://localhost:${port}`, ca: serverFiles.ca }, { SFLEET_CIPHER_SUITES: ALLOWED.cipherSuites!.join(','), SFLEET_CONFIG: join(caDir, 'none.yaml') });
    await new HubClient(conn).json('GET', '/api/v1/clusters');
  },
  'audit shipping (Elasticsearch)': async (port) => {
    const sink = new ElasticsearchSink(elasticsearchShipSchema.parse({ url: `https://localhost:${port}`, ca_file: serverFiles.ca }), 1_500, {}, undefined, ALLOWED);
    await sink.send([record]);
  },
  'audit shipping (webhook)': async (port) => {
    const sink = new WebhookSink(webhookShipSchema.parse({ url: `https://localhost:${port}/audit`, ca_file: serverFiles.ca }), 1_500, {}, undefined, ALLOWED);
    await sink.send([record]);
  },
  // Every HTTP alert channel (PagerDuty, Slack, webhook, ServiceNow, Jira, SMS) sends through this request().
  'alert channels (HTTPS to a receiver)': async (port) => {
    const res = await channelRequest('POST', `https://localhost:${port}/hook`, '{}', { 'content-type': 'application/json' }, AbortSignal.timeout(1_500), { tls: ALLOWED, ca: readFileSync(serverFiles.ca) });
    if (res.outcome !== 'delivered') throw new Error(res.reason);
  },
  'Confluence reports (REST API)': async (port) => {
    const config = confluenceConfigSchema.parse({ url: `https://localhost:${port}/wiki`, space: 'HPC', token_env: 'CT', ca_file: serverFiles.ca, retries: 0, timeout: '1500ms' });
    await new ConfluenceClient(config, { env: { CT: 'token' }, tls: ALLOWED }).find('x');
  },
  'Vault (https transit)': async (port) => {
    const vault = new VaultTransitProvider({ address: `https://localhost:${port}`, mount: 'transit', key_name: 'k', token_env: 'VT', ca_file: serverFiles.ca, timeout: 1_500, retries: 0 }, { VT: 'token' }, ALLOWED);
    await vault.wrap(Buffer.alloc(32));
  },
};

describe('cipher_suites ["TLS_AES_256_GCM_SHA384"] on every client', () => {
  for (const [name, connect] of Object.entries(clients)) {
    it(`${name}: no handshake with a server offering only TLS_AES_128_GCM_SHA256; one with TLS_AES_256_GCM_SHA384`, async () => {
      const refusing = await serverOffering('TLS_AES_128_GCM_SHA256');
      await expect(connect(refusing.port)).rejects.toThrow();
      expect(refusing.handshakes()).toBe(0);
      const allowing = await serverOffering('TLS_AES_256_GCM_SHA384');
      // Federation gets its answer; the others at least complete the handshake (the server is no LDAP or Vault).
      await connect(allowing.port).catch(() => undefined);
      expect(allowing.handshakes()).toBeGreaterThan(0);
    });
  }

  it('without a policy the same clients still take OpenSSL\'s default suites (the policy is what refuses)', async () => {
    const refusing = await serverOffering('TLS_AES_128_GCM_SHA256');
    const plain = new Federation({ region: 'here', peers: [{ name: 'there', url: `https://127.0.0.1:${refusing.port}`, timeout: 2_000 }], tls: { ...client, policy: undefined } });
    expect((await plain.query('clusters', {}, () => ({ items: [] }))).partial).toEqual([]);
  });
});
