// `node dist/scripts/fuzz/corpus.js`: writes the seed corpus of every target into
// scripts/fuzz/corpus/<target>/ from the project's own fixtures (the slurmrestd answers and
// lists of agent/normalize/testdata, the config fixtures of hub/ and agent/, deltas built from
// those lists, requests on every route of the table). Each seed starts with the bytes its
// target reads as choices (invariant.ts splitInput, the targets' first bytes). Rerun it when a
// target's input layout changes; the fuzzer's own finds stay in its scratch corpus.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adapterFor, streamedList, SUPPORTED_VERSIONS } from '../../agent/normalize/index.js';
import { AgentMessage, Delta } from '../../generated/fleet/v1/agent.js';
import type { FleetObject } from '../../generated/fleet/v1/model.js';
import { inProcessApi } from '../../test/harness/in-process-api.js';
import { TARGETS } from './targets/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixture = (...p: string[]): Buffer => readFileSync(path.join(ROOT, ...p));
const files = (dir: string): string[] => readdirSync(path.join(ROOT, dir)).map((f) => path.join(dir, f));
const seed = (...parts: (Buffer | string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

function http(status: number, body: Buffer, chunked: boolean): Buffer {
  const head = `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`}\r\n\r\n`;
  if (!chunked) return seed(head, body);
  const half = Math.floor(body.length / 2);
  const chunk = (b: Buffer): Buffer => seed(`${b.length.toString(16)}\r\n`, b, '\r\n');
  return seed(head, chunk(body.subarray(0, half)), chunk(body.subarray(half)), '0\r\n\r\n');
}

function responseReader(): Buffer[] {
  const out: Buffer[] = [];
  for (const f of files('agent/normalize/testdata/responses')) {
    const body = fixture(f);
    // Byte 0: HEAD or not; bytes 1-3: where the reads are cut.
    out.push(seed([0, 17, 40, 200], http(200, body, false)), seed([0, 5, 90, 3], http(500, body, true)));
  }
  out.push(seed([1, 0, 0, 0], 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'), seed([0, 0, 0, 0], 'HTTP/1.0 200 OK\r\n\r\nto the end'));
  return out;
}

const listFiles = (): { version: string; kind: 'job' | 'node'; body: Buffer }[] =>
  SUPPORTED_VERSIONS.flatMap((version) =>
    (['job', 'node'] as const).flatMap((kind) => {
      try {
        return [{ version, kind, body: fixture('agent/normalize/testdata', version, `${kind}s.json`) }];
      } catch {
        return [];
      }
    }),
  );

function listStream(): Buffer[] {
  // Byte 0: the version's index; byte 1: kind (bit 0) and status; bytes 2-3: read cuts.
  return listFiles().flatMap(({ version, kind, body }) => {
    const v = SUPPORTED_VERSIONS.indexOf(version as (typeof SUPPORTED_VERSIONS)[number]);
    const k = kind === 'job' ? 0 : 1;
    return [seed([v, k, 0, 0], body), seed([v, k | 2, 100, 7], body), seed([v, k | 6, 30, 30], fixture('agent/normalize/testdata/responses/errors-200.json'))];
  });
}

function deltaDecode(): Buffer[] {
  const out: Buffer[] = [];
  let seq = 1;
  for (const { version, kind, body } of listFiles()) {
    const list = kind === 'job' ? streamedList(adapterFor(version), 'job', 'c1', { maxElementBytes: 1 << 20, maxOtherBytes: 1 << 20 }) : streamedList(adapterFor(version), 'node', 'c1', { maxElementBytes: 1 << 20, maxOtherBytes: 1 << 20 });
    list.write(body);
    const upserts = list.finish(200).map((value) => ({ kind: { $case: kind, value } }) as FleetObject);
    const delta: Delta = { cluster: 'c1', epoch: 3, seq: seq++, upserts, removals: [{ kind: 1, id: '42' }], observed_at: '2026-01-01T00:00:00Z', snapshot: seq === 2, events: [], snapshot_part: 0, snapshot_parts: 0, traceparent: undefined };
    // Byte 0: Delta (even) or AgentMessage (odd).
    out.push(seed([0], Buffer.from(Delta.encode(delta).finish())), seed([1], Buffer.from(AgentMessage.encode({ body: { $case: 'delta', value: delta } }).finish())));
  }
  return out;
}

function configFile(): Buffer[] {
  // Byte 0: hub (bit 0 clear) or agent, with a --set override (bit 1); byte 1: the cut.
  const hub = files('hub/config/testdata').map((f) => seed([0, 0], fixture(f)));
  const agent = files('agent/config/testdata').map((f) => seed([1, 0], fixture(f)));
  const good = fixture('agent/config/testdata/good.yaml');
  return [...hub, ...agent, seed([3, good.length % 256], good, 'slurm.timeout=5000'), seed([2, 10], 'region: r1\n', 'http.max_body=1024')];
}

async function apiRequest(): Promise<Buffer[]> {
  const { app, routes } = await inProcessApi(5);
  await app.close();
  const served = routes.filter((r) => r.url !== '/api/v1/watch');
  // Byte 0: the route's index; byte 1: the content type; bytes 2-3: where param, query and body are cut.
  return served.map((r, i) => {
    const param = 'c1';
    const query = r.method === 'GET' ? 'limit=10&cluster=c1' : '';
    const body = ['GET', 'HEAD'].includes(r.method) ? '' : '{"cluster":"c1","reason":"fuzz"}';
    return seed([i, 0, param.length, query.length], param, query, body);
  });
}

async function main(): Promise<void> {
  const seeds: Record<string, Buffer[]> = {
    'response-reader': responseReader(),
    'list-stream': listStream(),
    'delta-decode': deltaDecode(),
    'config-file': configFile(),
    'api-request': await apiRequest(),
  };
  for (const t of TARGETS) {
    const dir = path.join(ROOT, 'scripts/fuzz/corpus', t.name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const s of seeds[t.name]) writeFileSync(path.join(dir, createHash('sha1').update(s).digest('hex')), s);
    process.stderr.write(`${t.name}: ${seeds[t.name].length} seeds\n`);
  }
}

await main();
