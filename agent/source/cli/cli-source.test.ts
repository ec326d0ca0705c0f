// CliSource with fake Slurm binaries (small shell scripts in a temp dir): the real execFile
// path, timeouts, output caps, broken binaries, and the environment without SLURM_JWT.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlurmResponseError, SlurmUnavailableError } from '../../../shared/errors/index.js';
import { CliSource, serializerVersion } from './cli-source.js';

let bin: string;

const SQUEUE_38 = JSON.stringify({
  meta: { plugin: { type: 'openapi/v0.0.38', name: 'Slurm OpenAPI v0.0.38' }, Slurm: { release: '22.05.8' } },
  errors: [],
  jobs: [{ job_id: 5, name: 'x', user_name: 'bob', account: 'ops', partition: 'batch', job_state: 'PENDING' }],
});
const SQUEUE_40 = JSON.stringify({
  meta: { plugin: { data_parser: 'v0.0.40' }, slurm: { release: '23.11.10' } },
  errors: [],
  jobs: [{ job_id: 6, name: 'y', user_name: 'alice', account: 'research', partition: 'debug', job_state: ['RUNNING'] }],
});
const SINFO = JSON.stringify({ meta: { plugin: { type: 'openapi/v0.0.38' } }, errors: [], nodes: [{ name: 'node1', state: 'idle' }] });

function script(name: string, body: string): void {
  const file = path.join(bin, name);
  writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> "$FAKE_DIR/calls"\n[ -n "$SLURM_JWT" ] && echo "$name saw SLURM_JWT" >> "$FAKE_DIR/calls"\n${body}\n`);
  chmodSync(file, 0o755);
}

beforeAll(() => {
  bin = mkdtempSync(path.join(os.tmpdir(), 'sfleet-cli-'));
  writeFileSync(path.join(bin, 'squeue-38.json'), SQUEUE_38);
  writeFileSync(path.join(bin, 'squeue-40.json'), SQUEUE_40);
  writeFileSync(path.join(bin, 'sinfo.json'), SINFO);
  script(
    'squeue',
    `case "$FAKE_MODE" in
  garbage) echo 'squeue: symbol lookup error'; exit 0 ;;
  down) echo 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)' >&2; exit 1 ;;
  hang) exec sleep 30 ;;
  flood) head -c 200000 /dev/zero | tr '\\0' x; exit 0 ;;
  v40) cat "$FAKE_DIR/squeue-40.json" ;;
  *) cat "$FAKE_DIR/squeue-38.json" ;;
esac`,
  );
  script('sinfo', 'cat "$FAKE_DIR/sinfo.json"');
  script(
    'scontrol',
    `case "$1" in
  ping) echo 'Slurmctld(primary) at head1 is UP' ;;
  show) case "$2" in
      partition) echo 'PartitionName=debug Default=YES Nodes=node1 State=UP TotalCPUs=4 TotalNodes=1 MaxTime=UNLIMITED' ;;
      reservation) echo 'No reservations in the system' ;;
    esac ;;
  hold) if [ "$2" = 999 ]; then echo 'Invalid job id specified for job 999'; echo 'slurm_suspend error: Invalid job id specified' >&2; exit 1; fi ;;
  requeue) echo 'slurm_requeue error: Unable to contact slurm controller (connect failure)' >&2; exit 1 ;;
esac`,
  );
  script(
    'scancel',
    `[ "$2" = 999 ] && echo "scancel: error: Kill job error on job id 999: Invalid job id specified" >&2
echo "scancel: Terminating job $2" >&2`,
  );
  script(
    'sacctmgr',
    `[ "$FAKE_MODE" = nodb ] && { echo 'sacctmgr: error: Problem talking to the database: Connection refused' >&2; exit 1; }
case "$4" in
  qos) echo 'normal|Normal QOS default|0|||cluster' ;;
  account) echo 'research|research group|lab|' ;;
  association) echo 'research|alice|||normal||5' ;;
esac`,
  );
});

afterAll(() => rmSync(bin, { recursive: true, force: true }));

function source(mode = '', options: { timeoutMs?: number; maxOutputBytes?: number; binDir?: string } = {}): CliSource {
  writeFileSync(path.join(bin, 'calls'), '');
  return new CliSource({ cluster: 'c1', binDir: bin, ...options }, { env: { PATH: '/usr/bin:/bin', FAKE_DIR: bin, FAKE_MODE: mode, SLURM_JWT: 'secret-jwt' } });
}

const calls = (): string[] => readFileSync(path.join(bin, 'calls'), 'utf8').trim().split('\n');

describe('CliSource', () => {
  it('reads every kind from the binaries, without SLURM_JWT in their environment', async () => {
    const { model, failed, unchanged, apiVersion } = await source().poll();
    expect(apiVersion).toBe('v0.0.38');
    expect(failed.size).toBe(0);
    expect(unchanged.size).toBe(0);
    expect(model.job.map((j) => [j.id, j.user, j.account, j.partition, j.state])).toEqual([[5, 'bob', 'ops', 'batch', 'PENDING']]);
    expect(model.node.map((n) => [n.name, n.state])).toEqual([['node1', 'IDLE']]);
    expect(model.partition.map((p) => [p.name, p.is_default, p.nodes])).toEqual([['debug', true, ['node1']]]);
    expect(model.reservation).toEqual([]);
    expect(model.qos.map((q) => q.name)).toEqual(['normal']);
    expect(model.account.map((a) => a.name)).toEqual(['research']);
    expect(model.association.map((a) => [a.account, a.user, a.id])).toEqual([['research', 'alice', 5]]);
    expect(model.controller[0]).toMatchObject({ hostname: 'head1', responding: true, api_version: 'v0.0.38', slurm_version: '22.05.8' });
    expect(calls().some((c) => c.includes('saw SLURM_JWT'))).toBe(false);
  });

  it('uses the adapter of the serializer that printed the JSON', async () => {
    const { model, apiVersion } = await source('v40').poll();
    expect(apiVersion).toBe('v0.0.40');
    expect(model.job.map((j) => [j.id, j.state])).toEqual([[6, 'RUNNING']]);
    expect(serializerVersion({ meta: { plugins: { data_parser: 'data_parser/v0.0.42' } } })).toBe('v0.0.42');
    expect(serializerVersion({})).toBe('v0.0.38');
  });

  it('marks the sacctmgr kinds failed when slurmdbd is down, without failing the poll', async () => {
    const { model, failed } = await source('nodb').poll();
    expect([...failed.keys()].sort()).toEqual(['account', 'association', 'qos']);
    expect(failed.get('qos')!.message).toMatch(/Problem talking to the database/);
    expect(model.job).toHaveLength(1);
  });

  it('turns broken binaries into typed errors', async () => {
    await expect(source('garbage').poll()).rejects.toThrow(new SlurmResponseError('squeue --json printed invalid JSON (28 bytes)'));
    const down = await source('down').poll().catch((e: Error) => e);
    expect(down).toBeInstanceOf(SlurmUnavailableError);
    expect((down as Error).message).toBe('squeue --json failed (exit 1): slurm_load_jobs error: Unable to contact slurm controller (connect failure)');
    // The timeout applies to every binary of the poll: it must be long enough for the seven
    // quick fake binaries on a loaded machine, or one of them times out before the hanging squeue.
    await expect(source('hang', { timeoutMs: 2000 }).poll()).rejects.toThrow(new SlurmUnavailableError('squeue did not finish within 2000 ms'));
    await expect(source('flood', { maxOutputBytes: 100_000 }).poll()).rejects.toThrow(new SlurmResponseError('squeue printed more than 100000 bytes'));
    const missing = await source('', { binDir: '/nonexistent' }).poll().catch((e: Error) => e);
    expect(missing).toBeInstanceOf(SlurmUnavailableError);
    expect((missing as Error).message).toMatch(/cannot be run \(ENOENT/);
  });

  it('shares one in-flight poll', async () => {
    const s = source();
    const [a, b] = [s.poll(), s.poll()];
    expect(a).toBe(b);
    await a;
    expect(calls().filter((c) => c.startsWith('squeue'))).toHaveLength(1);
  });

  it('runs commands through scontrol and scancel; refusals are ok:false', async () => {
    const s = source();
    expect(await s.execute({ kind: 'hold', target: '5' })).toEqual({ ok: true, message: 'hold job 5: done', via: 'scontrol' });
    expect(await s.execute({ kind: 'hold', target: '999' })).toEqual({ ok: false, message: 'hold job 999: slurm_suspend error: Invalid job id specified', via: 'scontrol' });
    expect(await s.execute({ kind: 'cancel', target: '5' })).toMatchObject({ ok: true, via: 'scancel' });
    expect(await s.execute({ kind: 'cancel', target: '999' })).toEqual({
      ok: false,
      message: 'cancel job 999: scancel: error: Kill job error on job id 999: Invalid job id specified',
      via: 'scancel',
    });
    await expect(s.execute({ kind: 'requeue', target: '5' })).rejects.toBeInstanceOf(SlurmUnavailableError);
    expect(calls()).toEqual(['scontrol hold 5', 'scontrol hold 999', 'scancel -v 5', 'scancel -v 999', 'scontrol requeue 5']);
  });
});
