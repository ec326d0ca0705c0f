// An https slurmrestd (behind a TLS proxy, or 24.05+ with TLS): the agent trusts the CA named
// in slurm.tls.ca_file, refuses an untrusted certificate with a message that says what to set,
// and accepts anything only when told to (and then says so in the log).
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors/index.js';
import { initCa, issueCertificate } from '../../../shared/tls/index.js';
import { createSlurmSource } from '../index.js';
import { RestTransport } from './transport.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.tls-token.sig';
let dir: string;
let server: https.Server;
let url: string;
let seenTokens: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rest-tls-'));
  await initCa(join(dir, 'ca'), { trustDomain: 'slurm.test' });
  const leaf = await issueCertificate(join(dir, 'ca'), { role: 'hub', name: 'slurmrestd', sans: ['127.0.0.1'] });
  server = https.createServer({ cert: readFileSync(leaf.cert), key: readFileSync(leaf.key) }, (req, res) => {
    seenTokens.push(String(req.headers['x-slurm-user-token']));
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function transport(tls?: { ca?: string; insecure: boolean }): RestTransport {
  return new RestTransport({ endpoints: [url], auth: { user: 'root', token: TOKEN }, timeoutMs: 2000, maxBodyBytes: 1 << 20, tls });
}

describe('slurmrestd over https', () => {
  it('answers with slurm.tls.ca_file set to the CA that signed it', async () => {
    const t = transport({ ca: readFileSync(join(dir, 'ca', 'ca.pem'), 'utf8'), insecure: false });
    try {
      const res = await t.request({ path: '/openapi/v3' });
      expect(res.status).toBe(200);
      expect(seenTokens.at(-1)).toBe(TOKEN);
    } finally {
      t.close();
    }
  });

  it('refuses an untrusted certificate, says what to set, and sends no token', async () => {
    seenTokens = [];
    const t = transport();
    try {
      const err = await t.request({ path: '/openapi/v3' }).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/certificate is not trusted; set slurm\.tls\.ca_file/);
      expect(err?.message).not.toContain(TOKEN);
      expect(seenTokens).toEqual([]);
    } finally {
      t.close();
    }
  });

  it('accepts any certificate with insecure: true, with a warning at start', async () => {
    const warnings: string[] = [];
    const logger = { info: () => undefined, debug: () => undefined, error: () => undefined, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) };
    const source = createSlurmSource(
      { cluster: 'c', slurm: { source: 'rest', endpoints: [url], auth: { user: 'root', token: TOKEN }, tls: { insecure: true } } },
      { logger },
    );
    await source.close();
    expect(warnings).toEqual([expect.stringMatching(/slurm\.tls\.insecure: the slurmrestd certificate is not checked/)]);
    const t = transport({ insecure: true });
    try {
      expect((await t.request({ path: '/openapi/v3' })).status).toBe(200);
    } finally {
      t.close();
    }
  });

  it('refuses at start a CA file that cannot be read, and TLS options without an https endpoint', () => {
    expect(() => createSlurmSource({ cluster: 'c', slurm: { source: 'rest', endpoints: [url], auth: { user: 'root', token: '' }, tls: { ca_file: join(dir, 'missing.pem') } } })).toThrow(
      new ConfigError(`slurm.tls.ca_file: cannot read ${join(dir, 'missing.pem')}: ENOENT`),
    );
    writeFileSync(join(dir, 'x.pem'), 'x');
    expect(() => createSlurmSource({ cluster: 'c', slurm: { source: 'rest', endpoints: ['http://127.0.0.1:1'], auth: { user: 'root', token: '' }, tls: { ca_file: join(dir, 'x.pem') } } })).toThrow(/none is https/);
  });
});
