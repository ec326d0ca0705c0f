// s9s's own example configuration (../shared/slurm/s9s-config.example.yaml, third-party data
// read here, not copied) migrates: both of its clusters, every other key named as unmapped,
// and the files written validate.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { migrateS9s, readS9sConfig, writeMigration } from './index.js';

const EXAMPLE = fileURLToPath(new URL('../../../shared/slurm/s9s-config.example.yaml', import.meta.url));

describe("s9s's example configuration", () => {
  it('migrates to agents and a hub that validate, naming every key it leaves behind', async () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const migration = migrateS9s(readS9sConfig(text, EXAMPLE), { hubEndpoint: '127.0.0.1:7443', pkiDir: '/etc/sfleet/pki', env: { SLURM_JWT: 'x.e30.y' } });
    const top = Object.keys(parse(text) as object);
    const clusters = (parse(text) as { clusters: { name: string }[] }).clusters.map((c) => c.name);
    expect(migration.errors).toEqual([]);
    expect(migration.agents.map((a) => a.cluster)).toEqual(clusters);
    const said = [...migration.mapped, ...migration.unmapped].join('\n');
    for (const key of top) expect(said).toMatch(new RegExp(`(^|\\n)(clusters\\[\\d+\\]\\.\\w+|${key})\\b`));
    for (const key of top.filter((k) => k !== 'clusters' && k !== 'refreshRate')) expect(migration.unmapped.join('\n')).toContain(`${key}:`);
    const written = await writeMigration(migration, mkdtempSync(join(tmpdir(), 's9s-example-')), EXAMPLE, false);
    expect(written.problems).toEqual([]);
  });
});
