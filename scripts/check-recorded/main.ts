// npm run check:recorded [dir]: feeds every real slurmrestd answer recorded under
// <dir>/<release>/<api>/ (default ../shared/slurm/recorded; env SFLEET_SLURM_RECORDED) through
// parseSlurmResponse and the version's adapter, with the HTTP status and content type that
// status.json says slurmrestd sent. Success files must normalize to sensible values; recorded
// failures must raise the right typed error. One line per folder, then "N passed, N failed".
// Exit code 1 on any failure; 0 when the folder does not exist (reported as skipped).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  JOB_BASE_STATES,
  NODE_BASE_STATES,
  adapterFor,
  isSupportedVersion,
  parseSlurmResponse,
  type VersionAdapter,
} from '../../agent/normalize/index.js';
import { NotFoundError, SlurmResponseError, SlurmUnavailableError } from '../../shared/errors/index.js';

type Method = 'jobs' | 'nodes' | 'partitions' | 'reservations' | 'qos' | 'accounts' | 'associations' | 'ping';

/** Accounting (slurmdbd) job records: a different format the agent does not consume. */
const NOT_CONSUMED_PREFIX = 'slurmdb-job-';

interface StatusEntry {
  status: number;
  'content-type'?: string;
}

interface FolderResult {
  files: number;
  normalized: number;
  expectedErrors: number;
  notConsumed: number;
  notes: string[];
  failures: string[];
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const PARTITION_STATES = new Set(['UP', 'DOWN', 'DRAIN', 'INACTIVE', 'UNKNOWN']);

function main(): number {
  const dir = resolve(process.argv[2] ?? process.env.SFLEET_SLURM_RECORDED ?? join(repoRoot(), '..', 'shared', 'slurm', 'recorded'));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    console.log(`check-recorded: skipped: not found: ${dir}`);
    return 0;
  }
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const release of sortedDirs(dir)) {
    for (const api of sortedDirs(join(dir, release))) {
      const label = `${release}/${api}`;
      if (!isSupportedVersion(api)) {
        console.log(`SKIP ${label}: API version ${api} is not supported by the adapters`);
        skipped++;
        continue;
      }
      const result = checkFolder(join(dir, release, api), release, api);
      const summary =
        `${result.files} files: ${result.normalized} normalized, ${result.expectedErrors} expected errors, ` +
        `${result.notConsumed} not consumed (slurmdb-job-*)`;
      const notes = result.notes.length > 0 ? `; ${result.notes.join('; ')}` : '';
      if (result.failures.length === 0) {
        passed++;
        console.log(`PASS ${label}: ${summary}${notes}`);
      } else {
        failed++;
        console.log(`FAIL ${label}: ${summary}${notes}`);
        for (const f of result.failures) console.log(`    ${f}`);
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
  return failed > 0 ? 1 : 0;
}

function checkFolder(folder: string, release: string, api: string): FolderResult {
  const result: FolderResult = { files: 0, normalized: 0, expectedErrors: 0, notConsumed: 0, notes: [], failures: [] };
  let statuses: Record<string, StatusEntry> = {};
  try {
    statuses = JSON.parse(readFileSync(join(folder, 'status.json'), 'utf8')) as Record<string, StatusEntry>;
  } catch (err) {
    result.failures.push(`status.json: unreadable (${err instanceof Error ? err.message : String(err)})`);
  }
  const adapter = adapterFor(api);
  const unknown: string[] = [];
  const noStatus: string[] = [];
  for (const file of readdirSync(folder).sort()) {
    if (file === 'status.json') continue;
    const base = file.replace(/\.(json|txt)$/, '');
    result.files++;
    if (base.startsWith(NOT_CONSUMED_PREFIX)) {
      result.notConsumed++;
      continue;
    }
    const method = methodFor(base);
    if (!method) {
      unknown.push(file);
      continue;
    }
    let entry = statuses[base];
    if (!entry) {
      noStatus.push(base);
      entry = { status: 200, 'content-type': file.endsWith('.json') ? 'application/json' : 'text/plain' };
    }
    const text = readFileSync(join(folder, file), 'utf8');
    const problem = checkFile(adapter, method, base, entry, text, release, api);
    if (problem === 'normalized') result.normalized++;
    else if (problem === 'expected-error') result.expectedErrors++;
    else result.failures.push(`${file} (HTTP ${entry.status}): ${problem}`);
  }
  if (noStatus.length > 0) result.notes.push(`no status.json entry, assumed 200: ${noStatus.join(', ')}`);
  if (unknown.length > 0) result.notes.push(`unrecognized: ${unknown.join(', ')}`);
  return result;
}

function methodFor(base: string): Method | undefined {
  if (base === 'slurm-jobs' || base.startsWith('slurm-job-') || base.startsWith('slurm-jwt-')) return 'jobs';
  if (base === 'slurm-nodes' || base.startsWith('slurm-node-')) return 'nodes';
  if (base === 'slurm-partitions') return 'partitions';
  if (base === 'slurm-reservations') return 'reservations';
  if (base === 'slurm-qos') return 'qos';
  if (base === 'slurm-accounts') return 'accounts';
  if (base === 'slurmdb-associations') return 'associations';
  if (base === 'slurm-ping') return 'ping';
  // GET /slurm/vX/not-found and /slurmdb/vX/not-found: any method, the answer is a 404.
  if (base === 'slurm-not-found' || base === 'slurmdb-not-found') return 'jobs';
  return undefined;
}

type Outcome = 'normalized' | 'expected-error' | string;

function checkFile(
  adapter: VersionAdapter,
  method: Method,
  base: string,
  entry: StatusEntry,
  text: string,
  release: string,
  api: string,
): Outcome {
  const status = entry.status;
  const contentType = entry['content-type'];
  const what = `${method} (${base})`;
  if (status >= 200 && status < 300) {
    let body: unknown;
    let records: unknown[];
    try {
      const parsed = parseSlurmResponse(status, contentType, text, what);
      if (parsed.unchanged) return 'parseSlurmResponse said "unchanged" for a 2xx answer';
      body = parsed.body;
      records = rawList(body, method);
      const out = adapter[method](body, 'recorded') as unknown[];
      if (out.length !== records.length) return `${out.length} normalized records for ${records.length} in the body`;
      const bad = sanity(method, base, out, release, api);
      return bad ?? 'normalized';
    } catch (err) {
      return `unexpected ${describeError(err)}`;
    }
  }
  // A recorded failure: which typed error must it raise?
  let expected: 'not-found' | 'auth' | 'unavailable' | 'response';
  if (status === 404) expected = 'not-found';
  else if (status === 401 || status === 511) expected = 'auth';
  else if (status >= 500 && base.startsWith('slurm-jwt-') && (!contentType?.includes('json') || text.includes('"error_number": 1007')))
    expected = 'auth';
  else if (status >= 500) expected = 'unavailable';
  else expected = 'response';
  try {
    parseSlurmResponse(status, contentType, text, what);
    return `no error raised, expected ${expected}`;
  } catch (err) {
    const ok =
      (expected === 'not-found' && err instanceof NotFoundError) ||
      (expected === 'auth' && err instanceof SlurmUnavailableError && err.message.includes('authentication failed')) ||
      (expected === 'unavailable' && err instanceof SlurmUnavailableError && err.status === status) ||
      (expected === 'response' && err instanceof SlurmResponseError);
    return ok ? 'expected-error' : `expected ${expected}, got ${describeError(err)}`;
  }
}

function rawList(body: unknown, method: Method): unknown[] {
  const b = body as Record<string, unknown>;
  const key =
    method === 'ping' ? 'pings' : method === 'qos' ? (Array.isArray(b.QOS) ? 'QOS' : 'qos') : method;
  const list = b[key];
  return Array.isArray(list) ? list : [];
}

/** Values a user would see must be sensible; returns the first problem, if any. */
function sanity(method: Method, base: string, out: unknown[], release: string, api: string): string | undefined {
  for (let i = 0; i < out.length; i++) {
    const o = out[i] as Record<string, unknown>;
    if (o.cluster !== 'recorded') return `${method}[${i}]: cluster not set`;
    for (const [k, v] of Object.entries(o)) {
      if ((k.endsWith('_time') || k === 'last_busy') && v !== undefined && !(typeof v === 'string' && ISO_UTC.test(v))) {
        return `${method}[${i}].${k} is not ISO-8601 UTC: ${String(v)}`;
      }
    }
    const problem = checkRecord(method, o, base, release, api);
    if (problem) return `${method}[${i}] ${String(o.id ?? o.name ?? o.hostname ?? o.account)}: ${problem}`;
  }
  if (method === 'ping' && out.length === 0) return 'no controller in the ping answer';
  return undefined;
}

function checkRecord(method: Method, o: Record<string, unknown>, base: string, release: string, api: string): string | undefined {
  switch (method) {
    case 'jobs': {
      if (!Number.isInteger(o.id) || (o.id as number) <= 0) return 'id is not a positive integer';
      if (!JOB_BASE_STATES.has(o.state as string)) return `unknown job state ${String(o.state)}`;
      if ((o.node_list as string) !== '' && (o.nodes as string[]).length === 0) return 'node_list did not expand';
      if (o.start_time && o.end_time && (o.start_time as string) > (o.end_time as string)) return 'ends before it starts';
      const intent = /^slurm-job-(pending|running|completed|failed|timeout)$/.exec(base);
      if (intent && o.state !== intent[1].toUpperCase()) return `state ${String(o.state)} in ${base}`;
      if (o.state === 'COMPLETED' && o.exit_code !== 0) return `COMPLETED with exit code ${String(o.exit_code)}`;
      if (o.state === 'FAILED' && !(typeof o.exit_code === 'number' && o.exit_code > 0) && o.exit_signal === undefined)
        return 'FAILED without a non-zero exit code or a signal';
      if (o.state === 'PENDING' && (o.nodes as string[]).length > 0 && o.start_time === undefined) return 'PENDING with nodes';
      if (o.time_limit_s !== undefined && (o.time_limit_s as number) % 60 !== 0) return 'time limit is not whole minutes';
      return undefined;
    }
    case 'nodes': {
      if (!o.name) return 'no name';
      if (!NODE_BASE_STATES.has(o.state as string)) return `unknown node state ${String(o.state)}`;
      if ((o.alloc_cpus as number) > (o.cpus as number)) return 'more CPUs allocated than present';
      if ((o.alloc_memory_mb as number) > (o.memory_mb as number)) return 'more memory allocated than present';
      if (o.cpu_load !== undefined && (o.cpu_load as number) > Math.max(o.cpus as number, 1) * 4) return `cpu_load ${String(o.cpu_load)} too high`;
      const flags = o.flags as string[];
      const m = /^slurm-node-(allocated|down|drain|draining|idle|mixed|planned)$/.exec(base);
      if (m) {
        const want = { allocated: 'ALLOCATED', down: 'DOWN', idle: 'IDLE', mixed: 'MIXED' }[m[1] as 'idle'];
        if (want && o.state !== want) return `state ${String(o.state)} in ${base}`;
        if ((m[1] === 'drain' || m[1] === 'draining') && !flags.includes('DRAIN')) return `no DRAIN flag in ${base}`;
        if (m[1] === 'planned' && !flags.includes('PLANNED')) return `no PLANNED flag in ${base}`;
      }
      return undefined;
    }
    case 'partitions': {
      if (!o.name) return 'no name';
      if (api === 'v0.0.39' ? o.state !== '' : !PARTITION_STATES.has(o.state as string)) return `state ${String(o.state)}`;
      if ((o.node_list as string) !== '' && (o.nodes as string[]).length !== o.total_nodes)
        return `${(o.nodes as string[]).length} expanded nodes for total_nodes ${String(o.total_nodes)}`;
      return undefined;
    }
    case 'reservations': {
      if (!o.name) return 'no name';
      if ((o.node_list as string) !== '' && (o.nodes as string[]).length !== o.node_count)
        return `${(o.nodes as string[]).length} expanded nodes for node_count ${String(o.node_count)}`;
      return undefined;
    }
    case 'qos':
      if (!o.name) return 'no name';
      if (o.max_wall_s !== undefined && (o.max_wall_s as number) % 60 !== 0) return 'max wall is not whole minutes';
      return undefined;
    case 'accounts':
      return o.name ? undefined : 'no name';
    case 'associations':
      if (!o.account) return 'no account';
      if (api >= 'v0.0.40' && !Number.isInteger(o.id)) return 'no id';
      return undefined;
    case 'ping':
      if (!o.hostname) return 'no hostname';
      if (o.responding !== true || o.mode !== 'primary') return `responding=${String(o.responding)} mode=${String(o.mode)}`;
      if (o.api_version !== api) return `api_version ${String(o.api_version)}`;
      if (!(o.slurm_version as string).startsWith(release)) return `slurm_version ${String(o.slurm_version)}`;
      if (o.latency_ms !== undefined && !((o.latency_ms as number) > 0 && (o.latency_ms as number) < 60_000)) return 'odd latency';
      return undefined;
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function sortedDirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort();
}

/** The nearest folder above this file that holds package.json (works from src and dist). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

process.exitCode = main();
