// What an operator gets from `sfleet config validate|export|schema` before a deployment:
// every mistake at once with where it is, an export that loads back to the same thing without
// a secret in it, and a JSON Schema that editors can check the shipped examples against.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config/index.js';
import { hubConfigSchema } from '../../hub/config/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { main } from '../main.js';

/** Runs the CLI in this process, capturing what it writes. */
async function sfleet(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const write = (target: 'out' | 'err') => (chunk: string | Uint8Array): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (target === 'out') out += text;
    else err += text;
    return true;
  };
  const saved = { out: process.stdout.write, err: process.stderr.write, env: { ...process.env }, exitCode: process.exitCode };
  process.stdout.write = write('out') as typeof process.stdout.write;
  process.stderr.write = write('err') as typeof process.stderr.write;
  Object.assign(process.env, env);
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'sfleet', ...args]);
    return { code: code || Number(process.exitCode ?? 0), out, err };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.env = saved.env;
    process.exitCode = saved.exitCode;
  }
}

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'config-cmd-')), name);
  writeFileSync(path, text);
  return path;
}

describe('sfleet config validate', () => {
  it('accepts the shipped examples', async () => {
    const r = await sfleet(['config', 'validate', 'deploy/examples/hub.yaml', 'deploy/examples/agent.yaml'], { SLURM_JWT: 'x.y.z' });
    expect(r.err).toBe('');
    expect(r.out).toBe('deploy/examples/hub.yaml: valid hub configuration\ndeploy/examples/agent.yaml: valid agent configuration\n');
    expect(r.code).toBe(0);
  });

  it('lists every error at once with file, line and key, and exits 1', async () => {
    const bad = file('agent.yaml', ['cluster: "bad name!"', 'hub:', '  endpoints: [nohost]', 'poll_interval: soon', 'tls: { ca: a, cert: b, key: c }', 'slurm: { source: rest }', ''].join('\n'));
    const r = await sfleet(['config', 'validate', bad]);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${bad}:1: cluster: `)),
        expect.stringMatching(new RegExp(`^${bad}:3: hub\\.endpoints\\.0: expected host:port`)),
        expect.stringMatching(new RegExp(`^${bad}:4: poll_interval: `)),
        expect.stringMatching(new RegExp(`^${bad}:6: slurm\\.endpoints: the rest source needs at least one slurmrestd endpoint`)),
      ]),
    );
    expect(lines.at(-1)).toBe(`${bad}: 4 errors (agent configuration)`);
  });

  it('names an unset ${VAR}, and with --no-require-env does not', async () => {
    const r = await sfleet(['config', 'validate', 'deploy/examples/agent.yaml'], { SLURM_JWT: '' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('deploy/examples/agent.yaml:28: slurm.auth.token: environment variable SLURM_JWT is not set');
    const relaxed = await sfleet(['config', 'validate', '--no-require-env', 'deploy/examples/agent.yaml'], { SLURM_JWT: '' });
    expect(relaxed.code).toBe(0);
  });

  it('says invalid YAML with its line, and a missing file, without a stack trace', async () => {
    const r = await sfleet(['config', 'validate', file('hub.yaml', 'region: a\n  bad: [\n')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/hub\.yaml:1: invalid YAML: Nested mappings are not allowed/);
    const missing = await sfleet(['config', 'validate', '/nonexistent/hub.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('error: /nonexistent/hub.yaml: cannot read config file: ENOENT\n');
  });
});

describe('sfleet config export', () => {
  it('writes the effective configuration, which loads back to the same thing', async () => {
    const r = await sfleet(['config', 'export', 'deploy/examples/agent.yaml'], { SLURM_JWT: 'eyJhbGciOiJIUzI1NiJ9.secret.sig' });
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(r.out).toContain('token: ${SLURM_JWT}');
    expect(r.out).toMatch(/^poll_interval: 10s$/m);
    const env = { SLURM_JWT: 'eyJhbGciOiJIUzI1NiJ9.secret.sig' };
    const original = parseConfigText(agentConfigSchema, readFileSync('deploy/examples/agent.yaml', 'utf8'), 'agent.yaml', { env });
    expect(parseConfigText(agentConfigSchema, r.out, 'exported.yaml', { env })).toEqual(original);
  });

  it('masks a secret written into the file itself', async () => {
    const hub = readFileSync('deploy/examples/hub.yaml', 'utf8');
    const withSecret = file('hub.yaml', `${hub}\netcd: { endpoints: ["http://127.0.0.1:2379"] }\nredis: { url: "redis://127.0.0.1:6379", password: "hunter2-plain" }\n`);
    const r = await sfleet(['config', 'export', withSecret]);
    expect(r.err).toBe('');
    expect(r.out).not.toContain('hunter2-plain');
    expect(r.out).toContain('password: <redacted>');
    expect(() => parseConfigText(hubConfigSchema, r.out, 'exported.yaml')).not.toThrow();
  });
});

describe('sfleet config schema', () => {
  for (const [role, example, env] of [
    ['hub', 'deploy/examples/hub.yaml', {}],
    ['agent', 'deploy/examples/agent.yaml', { SLURM_JWT: 'x' }],
  ] as const) {
    it(`describes the ${role} configuration: the example passes, a misspelt key does not`, async () => {
      const r = await sfleet(['config', 'schema', '--role', role], env);
      expect(r.code).toBe(0);
      const validate = new Ajv2020({ strict: false, allErrors: true }).compile(JSON.parse(r.out) as object);
      const example_ = parseDocument(readFileSync(example, 'utf8')).toJS() as Record<string, unknown>;
      expect(validate(example_), JSON.stringify(validate.errors)).toBe(true);
      expect(validate({ ...example_, log_levle: 'debug' })).toBe(false);
    });
  }

});
