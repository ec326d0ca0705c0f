// The agent's requests to slurmrestd, counted by kind without prom-client: a latency histogram
// per method and path template, and errors by kind. The agent's /metrics serves them
// (agent/observe/agent-metrics.ts) and each heartbeat carries them to the hub
// (agent/observe/agent-report.ts), as sfleet_agent_slurmrestd_*.
//
// Labels stay bounded: the path is a template (`/slurm/jobs`, `/slurm/job/{id}`: no API version,
// no ids, no query), its resource one of Slurm's (else `other`), and the error kind one of a fixed
// set. A request is one attempt at one endpoint (a failover to another endpoint is two).
import { LabelledCounts, LatencyHistogram } from '../../../shared/histogram/index.js';

export const SLURMRESTD_ERROR_KINDS = ['unreachable', 'timeout', 'cut_off', 'too_large', 'tls', 'http_4xx', 'http_5xx', 'other'] as const;
export type SlurmrestdErrorKind = (typeof SLURMRESTD_ERROR_KINDS)[number];

/** Resources of slurmrestd's APIs (slurm and slurmdb) the path label may name. */
const RESOURCES = new Set([
  'ping', 'diag', 'jobs', 'job', 'nodes', 'node', 'partitions', 'partition', 'reservations', 'reservation', 'licenses', 'shares', 'reconfigure',
  'accounts', 'account', 'users', 'user', 'associations', 'association', 'qos', 'tres', 'clusters', 'cluster', 'wckeys', 'wckey', 'config', 'instances', 'instance',
]);

/** `/slurm/v0.0.41/job/123?x=1` -> `/slurm/job/{id}`; `/openapi/v3` -> `/openapi`. */
export function pathTemplate(path: string): string {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  const api = parts[0];
  if (api === 'openapi') return '/openapi';
  if (api !== 'slurm' && api !== 'slurmdb') return '/other';
  const rest = /^v\d+\.\d+\.\d+$/.test(parts[1] ?? '') ? parts.slice(2) : parts.slice(1);
  if (!rest.length) return `/${api}`;
  const resource = RESOURCES.has(rest[0]!) ? rest[0] : 'other';
  return `/${api}/${resource}${rest.length > 1 ? '/{id}' : ''}`;
}

export class SlurmrestdStats {
  /** method, path -> seconds from sending to the whole answer (a streamed list: read to its end) */
  readonly durations = new LabelledCounts(() => new LatencyHistogram());
  /** method, path, kind -> failed requests */
  readonly errors = new LabelledCounts(() => ({ n: 0 }));

  observe(method: string, path: string, seconds: number, error?: SlurmrestdErrorKind): void {
    const labels = { method, path: pathTemplate(path) };
    this.durations.get(labels).observe(seconds);
    if (error) this.errors.get({ ...labels, kind: error }).n++;
  }
}

/** The kind of a failed request from what the transport knows (the fault and the error's message). */
export function errorKind(fault: string | undefined, err: unknown, connectError: boolean): SlurmrestdErrorKind {
  const message = err instanceof Error ? err.message : String(err);
  if (connectError) return 'unreachable';
  if (fault?.startsWith('no answer within')) return 'timeout';
  if (fault?.startsWith('answer cut off')) return 'cut_off';
  if (/larger than/.test(message)) return 'too_large';
  if (/certificate|CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(message)) return 'tls';
  return 'other';
}
