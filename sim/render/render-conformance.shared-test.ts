// The simulator's JSON against the real OpenAPI specs and recorded slurmrestd responses.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SimEngine } from '../engine/index.js';
import { API_VERSIONS, SlurmRenderer, type ApiVersion } from './index.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/slurm');
// Third-party data beside the repository (../shared), never copied into it: this file runs in
// the `shared-data` project only, which npm test runs when that folder is there.
if (!existsSync(resolve(SHARED, 'openapi'))) throw new Error(`${SHARED}/openapi not found: the shared-data checks need ../shared beside the repository`);

function cluster(over: Record<string, unknown> = {}): SimEngine {
  let t = T0;
  const engine = new SimEngine({ cluster: 'render', nodes: 16, jobs: 80, seed: 9, nodeFailurePerHour: 0, ...over }, { clock: { now: () => t } });
  // make sure every state we render is present: a failed job with exit 3, a timeout, a cancelled one, a held one
  const failed = engine.submit({ user: 'carol', qos: 'high', cpus: 1, durationS: 5, outcome: 'FAILED', exitCode: 3 });
  const timeout = engine.submit({ user: 'dave', qos: 'high', cpus: 1, timeLimitMin: 1, outcome: 'TIMEOUT' });
  engine.submit({ user: 'bob', cpus: 2, hold: true });
  engine.submit({ user: 'erin', qos: 'high', cpus: 1, array: { first: 1, last: 30, max: 2 } });
  for (let i = 0; i < 150; i++) engine.tick((t += 1000));
  expect(engine.job(failed)?.state).toBe('FAILED');
  expect(engine.job(timeout)?.state).toBe('TIMEOUT');
  return engine;
}

const ENGINE = cluster();

function parse(text: string | Iterable<string>): Record<string, any> {
  return JSON.parse(typeof text === 'string' ? text : [...text].join(''));
}

function jobIn(body: Record<string, any>, pred: (j: any) => boolean): any {
  const j = body.jobs.find(pred);
  expect(j, 'a job matching the predicate').toBeDefined();
  return j;
}

function stateOf(j: any): string {
  return Array.isArray(j.job_state) ? j.job_state[0] : j.job_state;
}

// ---- a small OpenAPI 3.0 checker: every key we print must be declared, with the declared type ----

type Schema = Record<string, any>;

function checkSchema(spec: Schema, schema: Schema, value: unknown, path: string, out: string[]): void {
  while (schema.$ref) schema = spec.components.schemas[String(schema.$ref).split('/').pop() as string];
  if (out.length > 20) return;
  const type = schema.type ?? (schema.properties ? 'object' : undefined);
  if (type === undefined) return;
  if (value === null) {
    if (type !== 'object') out.push(`${path}: null for ${type}`);
    return;
  }
  switch (type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return void out.push(`${path}: expected object`);
      const props: Schema = schema.properties ?? {};
      for (const [k, v] of Object.entries(value)) {
        if (props[k]) checkSchema(spec, props[k], v, `${path}.${k}`, out);
        else if (schema.additionalProperties) checkSchema(spec, schema.additionalProperties, v, `${path}.${k}`, out);
        else if (schema.properties) out.push(`${path}.${k}: not in the spec`);
      }
      // Runtime specs list nested required fields as "a/b".
      for (const k of schema.required ?? []) {
        let at: any = value;
        for (const part of String(k).split('/')) at = at !== null && typeof at === 'object' ? at[part] : undefined;
        if (at === undefined) out.push(`${path}.${k}: required`);
      }
      return;
    }
    case 'array':
      if (!Array.isArray(value)) return void out.push(`${path}: expected array`);
      value.forEach((v, i) => checkSchema(spec, schema.items ?? {}, v, `${path}[${i}]`, out));
      return;
    case 'string':
      if (typeof value !== 'string') return void out.push(`${path}: expected string, got ${JSON.stringify(value)}`);
      if (schema.enum && !schema.enum.includes(value)) out.push(`${path}: "${value}" not in enum`);
      return;
    case 'integer':
      if (!Number.isInteger(value)) out.push(`${path}: expected integer, got ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') out.push(`${path}: expected number, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${path}: expected boolean, got ${JSON.stringify(value)}`);
      return;
  }
}

const specs = new Map<string, Schema>();
function spec(version: ApiVersion): Schema {
  let s = specs.get(version);
  if (!s) {
    s = JSON.parse(readFileSync(resolve(SHARED, `openapi/slurmrestd-${version}.json`), 'utf8')) as Schema;
    specs.set(version, s);
  }
  return s;
}

/** The 200 schema of `GET|POST|DELETE /slurm[db]/vX/<tail>` in that version's spec. */
function responseSchema(version: ApiVersion, api: 'slurm' | 'slurmdb', tail: string, method = 'get'): Schema {
  const s = spec(version);
  const want = `/${api}/${version}/${tail}`;
  const key = Object.keys(s.paths).find((p) => p === want || p === `${want}/`);
  expect(key, `${want} in the ${version} spec`).toBeDefined();
  return s.paths[key as string][method].responses['200'].content['application/json'].schema;
}

/**
 * Where real slurmrestd itself departs from its spec (the recordings show it), we print what the
 * real one prints: v0.0.39's meta has data_parser and client; an unknown node's answer (v0.0.40+)
 * has no `nodes` and no `last_update`.
 */
const REAL_BEYOND_SPEC = [/\.meta\.plugin\.data_parser: not in the spec$/, /\.meta\.client: not in the spec$/];

function expectConforms(version: ApiVersion, api: 'slurm' | 'slurmdb', tail: string, body: unknown, method = 'get', alsoAllowed: RegExp[] = []): void {
  const errors: string[] = [];
  checkSchema(spec(version), responseSchema(version, api, tail, method), body, tail, errors);
  const allowed = version === 'v0.0.39' ? [...REAL_BEYOND_SPEC, ...alsoAllowed] : alsoAllowed;
  expect(errors.filter((e) => !allowed.some((re) => re.test(e)))).toEqual([]);
}

const NEW_VERSIONS = API_VERSIONS.filter((v) => v !== 'v0.0.38');

describe('the spec checker itself', () => {
  it('catches unknown keys, wrong types, bad enums and missing required fields', () => {
    const body = parse(new SlurmRenderer(ENGINE, 'v0.0.41').jobs());
    const job = body.jobs[0];
    job.bogus = 1;
    job.job_id = 'x';
    job.job_state = ['NOT_A_STATE'];
    delete body.jobs[1].job_id;
    const errors: string[] = [];
    checkSchema(spec('v0.0.41'), responseSchema('v0.0.41', 'slurm', 'jobs'), body, 'jobs', errors);
    expect(errors.join('\n')).toMatch(/bogus: not in the spec/);
    expect(errors.join('\n')).toMatch(/job_id: expected integer/);
    expect(errors.join('\n')).toMatch(/NOT_A_STATE" not in enum/);
  });
});

describe('renderers conform to each version’s OpenAPI spec (v0.0.39+)', () => {
  for (const v of NEW_VERSIONS) {
    it(`${v}: every slurmctld and slurmdbd body`, () => {
      const r = new SlurmRenderer(ENGINE, v, 'alice');
      expectConforms(v, 'slurm', 'jobs', parse(r.jobs()));
      expectConforms(v, 'slurm', 'job/{job_id}', parse(r.job(ENGINE.jobs().next().value!)));
      expectConforms(v, 'slurm', 'job/{job_id}', parse(r.jobNotFound('424242')));
      expectConforms(v, 'slurm', 'nodes', parse(r.nodes()));
      expectConforms(v, 'slurm', 'node/{node_name}', parse(r.node(ENGINE.nodes[0])));
      expectConforms(v, 'slurm', 'node/{node_name}', parse(r.nodeNotFound('nope')), 'get', [/\.(nodes|last_update): required$/]);
      expectConforms(v, 'slurm', 'partitions', parse(r.partitions()));
      expectConforms(v, 'slurm', 'reservations', parse(r.reservations()));
      expectConforms(v, 'slurm', 'ping', parse(r.ping()));
      expectConforms(v, 'slurm', 'diag', parse(r.diag()));
      expectConforms(v, 'slurmdb', 'qos', parse(r.qos()));
      expectConforms(v, 'slurmdb', 'accounts', parse(r.accounts()));
      expectConforms(v, 'slurmdb', 'associations', parse(r.associations()));
      expectConforms(v, 'slurm', 'job/{job_id}', parse(r.jobUpdated(1001)), 'post');
      expectConforms(v, 'slurm', 'job/{job_id}', parse(r.jobSignalled(1001)), 'delete');
      expectConforms(v, 'slurm', 'node/{node_name}', parse(r.nodeUpdated()), 'post');
    });
  }
});

// ---- same keys as the real responses (recorded from real slurmrestd, see shared/slurm/recorded/INDEX.md) ----

const RECORDED: Record<ApiVersion, string> = {
  'v0.0.38': 'samples',
  'v0.0.39': 'recorded/24.05/v0.0.39',
  'v0.0.40': 'recorded/24.11/v0.0.40',
  'v0.0.41': 'recorded/25.11/v0.0.41',
  'v0.0.42': 'recorded/25.11/v0.0.42',
  'v0.0.43': 'recorded/25.11/v0.0.43',
  'v0.0.44': 'recorded/25.11/v0.0.44',
};

function recorded(v: ApiVersion, file: string): Record<string, any> | undefined {
  const dir = resolve(SHARED, RECORDED[v]);
  const name = v === 'v0.0.38' ? `rest-v0.0.38-${file}.json` : `slurm-${file}.json`;
  const path = resolve(dir, name);
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}

function keysOf(o: Record<string, unknown>): string[] {
  return Object.keys(o);
}

describe('renderers print the keys real slurmrestd prints, in its order', () => {
  for (const v of API_VERSIONS) {
    it(`${v}: jobs, nodes, partitions, top level`, () => {
      const r = new SlurmRenderer(ENGINE, v);
      const ours = parse(r.jobs());
      const real = recorded(v, 'jobs')!;
      expect(keysOf(ours)).toEqual(keysOf(real));
      const realRunning = real.jobs.find((j: any) => stateOf(j) === 'RUNNING');
      const ourRunning = jobIn(ours, (j) => stateOf(j) === 'RUNNING');
      expect(keysOf(ourRunning)).toEqual(keysOf(realRunning));
      expect(keysOf(ourRunning.job_resources)).toEqual(keysOf(realRunning.job_resources));
      expect(keysOf(ours.meta)).toEqual(keysOf(real.meta));
      const realNodes = recorded(v, 'nodes')!;
      const ourNodes = parse(r.nodes());
      expect(keysOf(ourNodes)).toEqual(keysOf(realNodes));
      expect(keysOf(ourNodes.nodes[0])).toEqual(keysOf(realNodes.nodes[0]));
      const realParts = recorded(v, 'partitions')!;
      const ourParts = parse(r.partitions());
      expect(keysOf(ourParts.partitions[0])).toEqual(keysOf(realParts.partitions[0]));
      const realPing = recorded(v, 'ping')!;
      expect(keysOf(parse(r.ping()).pings[0])).toEqual(keysOf(realPing.pings[0]));
    });
  }

  it('v0.0.38: slurmdbd records have 22.05’s keys', () => {
    const r = new SlurmRenderer(ENGINE, 'v0.0.38');
    const sample = (name: string) => JSON.parse(readFileSync(resolve(SHARED, 'samples', `rest-dbv0.0.38-${name}.json`), 'utf8'));
    const qos = parse(r.qos());
    expect(keysOf(qos)).toEqual(keysOf(sample('qos')));
    expect(keysOf(qos.QOS[0])).toEqual(keysOf(sample('qos').QOS[0]));
    expect(keysOf(qos.QOS[0].limits.max)).toEqual(keysOf(sample('qos').QOS[0].limits.max));
    expect(keysOf(parse(r.accounts()).accounts[0])).toEqual(keysOf(sample('accounts').accounts[0]));
    const assoc = parse(r.associations()).associations.find((a: any) => a.user);
    expect(keysOf(assoc)).toEqual(keysOf(sample('associations').associations.find((a: any) => a.user)));
    expect(keysOf(parse(r.ping()).pings[0])).toEqual(keysOf(recorded('v0.0.38', 'ping')!.pings[0]));
    expect(keysOf(parse(r.diag()).statistics).sort()).toEqual(keysOf(recorded('v0.0.38', 'diag')!.statistics).sort());
  });

  it('v0.0.38: pending jobs have no job_resources, as in 22.05', () => {
    const ours = parse(new SlurmRenderer(ENGINE, 'v0.0.38').jobs());
    const real = recorded('v0.0.38', 'job-pending')!;
    const pending = jobIn(ours, (j) => j.job_state === 'PENDING');
    expect(keysOf(pending)).toEqual(keysOf(real.jobs[0]));
  });

  for (const v of NEW_VERSIONS) {
    it(`${v}: slurmdbd records`, () => {
      const r = new SlurmRenderer(ENGINE, v);
      const qos = recorded(v, 'qos');
      if (qos) expect(keysOf(parse(r.qos()).qos[0])).toEqual(keysOf(qos.qos[0]));
      const acc = recorded(v, 'accounts');
      if (acc) expect(keysOf(parse(r.accounts()).accounts[0])).toEqual(keysOf(acc.accounts[0]));
      const assocPath = resolve(SHARED, RECORDED[v], 'slurmdb-associations.json');
      if (existsSync(assocPath)) {
        const real = JSON.parse(readFileSync(assocPath, 'utf8'));
        const ours = parse(r.associations()).associations.find((a: any) => a.user);
        expect(keysOf(ours)).toEqual(keysOf(real.associations.find((a: any) => a.user)));
      }
    });
  }
});
