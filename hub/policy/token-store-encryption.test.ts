import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtRest, readPrefix } from '../../shared/crypto/index.js';
import { TokenStore } from './token-store.js';

describe('TokenStore with encryption at rest', () => {
  it('keeps tokens.json sealed; tokens verify; a plaintext file from before is read and sealed on the next write', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `tokens-enc-${process.pid}-`));
    const plain = new TokenStore(dataDir);
    const old = plain.create('grafana-reader');
    expect(readFileSync(join(dataDir, 'tokens.json'), 'utf8')).toContain('grafana-reader');

    const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(dataDir, '..', `kr-${process.pid}-${Date.now()}.json`) } });
    const sealed = new TokenStore(dataDir, atRest);
    expect(sealed.verify(old.token)).toBe('grafana-reader');
    const fresh = sealed.create('ci-pipeline');
    const bytes = readFileSync(join(dataDir, 'tokens.json'));
    expect(readPrefix(join(dataDir, 'tokens.json'))?.header.purpose).toBe('hub/tokens');
    for (const word of ['grafana-reader', 'ci-pipeline', fresh.record.hash]) expect(bytes.includes(Buffer.from(word))).toBe(false);
    expect(new TokenStore(dataDir, atRest).verify(fresh.token)).toBe('ci-pipeline');
    expect(new TokenStore(dataDir, atRest).list().map((t) => t.name)).toEqual(['grafana-reader', 'ci-pipeline']);

    // Tampered: no token is accepted (fail closed), and the CLI's list names the file.
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 3] ^= 0x01;
    writeFileSync(join(dataDir, 'tokens.json'), tampered);
    expect(() => new TokenStore(dataDir, atRest).list()).toThrow(/tokens\.json/);
    expect(() => new TokenStore(dataDir, atRest).verify(fresh.token)).toThrow();
  });
});
