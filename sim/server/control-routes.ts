// The sim-only control API under /sim/v1/: the cluster's state and rates, faults to inject into
// the slurmrestd routes, job submission with a chosen outcome, and the commands the agent sends
// in place of scontrol. Never faulted, so a test can always clear what it injected.
import type { IncomingMessage } from 'node:http';
import { SimCommandError, type SimCommandKind, type SimEngine, type SubmitSpec } from '../engine/index.js';
import { versionInfo, type ApiVersion } from '../render/index.js';
import { parseFaults, type Faults } from './faults.js';
import { isObject, readJson, type Reply } from './reply.js';

const COMMAND_KINDS = new Set<SimCommandKind>(['cancel', 'hold', 'release', 'requeue', 'drain', 'resume']);

export class ControlRoutes {
  /** The Slurm release the served API version belongs to. */
  private readonly release: string;

  constructor(
    private readonly engine: SimEngine,
    private readonly apiVersion: ApiVersion,
    private readonly faults: Faults,
  ) {
    this.release = versionInfo(apiVersion).release;
  }

  /** Answers one /sim/v1 request; an unknown endpoint is a JSON 404. */
  async handle(req: IncomingMessage, path: string): Promise<Reply> {
    const method = req.method ?? 'GET';
    const e = this.engine;
    const ok = (body: unknown, status = 200): Reply => ({ status, json: JSON.stringify(body, null, 2) });
    const bad = (status: number, message: string, extra: Record<string, unknown> = {}): Reply => ok({ error: { message, ...extra } }, status);
    switch (`${method} ${path}`) {
      case 'GET /sim/v1/state': {
        const counts = e.counts();
        return ok({
          cluster: e.cluster,
          api_version: this.apiVersion,
          slurm_release: this.release,
          now: e.now,
          last_update: { ...e.lastUpdate },
          jobs: counts.jobs,
          nodes: counts.nodes,
          rates: { arrival_per_min: e.options.arrivalPerMin, node_failure_per_hour: e.options.nodeFailurePerHour },
          faults: this.faults.current,
        });
      }
      case 'GET /sim/v1/faults':
        return ok({ faults: this.faults.current });
      case 'POST /sim/v1/faults': {
        const parsed = parseFaults(await readJson(req));
        if (!parsed.ok) return bad(400, parsed.message);
        this.faults.set(parsed.faults);
        return ok({ faults: this.faults.current });
      }
      case 'DELETE /sim/v1/faults':
        this.faults.clear();
        return ok({ faults: {} });
      case 'POST /sim/v1/jobs': {
        const spec = submitSpec(await readJson(req));
        if (typeof spec === 'string') return bad(400, spec);
        try {
          return ok({ job_id: e.submit(spec) }, 201);
        } catch (err) {
          if (err instanceof SimCommandError) return bad(400, err.description, { errno: err.errno, error: err.error });
          throw err;
        }
      }
      case 'POST /sim/v1/command': {
        // The agent's stand-in for scontrol; answers {ok, message} (ok:false when Slurm would refuse).
        const body = await readJson(req);
        if (!isObject(body) || typeof body.kind !== 'string' || !COMMAND_KINDS.has(body.kind as SimCommandKind) || typeof body.target !== 'string') {
          return bad(400, `command must be {"kind": one of ${[...COMMAND_KINDS].join('|')}, "target": string, "reason"?: string}`);
        }
        const kind = body.kind as SimCommandKind;
        try {
          e.command({ kind, target: body.target, reason: typeof body.reason === 'string' ? body.reason : undefined });
        } catch (err) {
          if (!(err instanceof SimCommandError)) throw err;
          const status = err.errno === 2017 || err.errno === 2018 ? 404 : 409;
          return ok({ ok: false, message: `${err.error}: ${err.description}`, errno: err.errno, error: err.error }, status);
        }
        return ok({ ok: true, message: `${kind} ${body.target}: done` });
      }
    }
    return bad(404, `no sim control endpoint ${method} ${path}`);
  }
}

/** POST /sim/v1/jobs body → SubmitSpec, or a message saying what is wrong. */
function submitSpec(body: unknown): SubmitSpec | string {
  if (body === undefined) return {};
  if (!isObject(body)) return 'job must be a JSON object';
  const known = new Set(['user', 'account', 'partition', 'qos', 'name', 'cpus', 'duration_s', 'time_limit_min', 'outcome', 'exit_code', 'array', 'hold', 'comment']);
  for (const k of Object.keys(body)) if (!known.has(k)) return `unknown field "${k}" (known: ${[...known].join(', ')})`;
  const str = (k: string): string | undefined | Error => (body[k] === undefined ? undefined : typeof body[k] === 'string' && body[k] !== '' ? (body[k] as string) : new Error(`${k} must be a non-empty string`));
  const int = (k: string, min: number): number | undefined | Error =>
    body[k] === undefined ? undefined : Number.isInteger(body[k]) && (body[k] as number) >= min ? (body[k] as number) : new Error(`${k} must be an integer >= ${min}`);
  const spec: SubmitSpec = {};
  for (const [k, field] of [
    ['user', 'user'],
    ['account', 'account'],
    ['partition', 'partition'],
    ['qos', 'qos'],
    ['name', 'name'],
    ['comment', 'comment'],
  ] as const) {
    const v = str(k);
    if (v instanceof Error) return v.message;
    if (v !== undefined) spec[field] = v;
  }
  for (const [k, field, min] of [
    ['cpus', 'cpus', 1],
    ['duration_s', 'durationS', 1],
    ['time_limit_min', 'timeLimitMin', 1],
    ['exit_code', 'exitCode', 1],
  ] as const) {
    const v = int(k, min);
    if (v instanceof Error) return v.message;
    if (v !== undefined) spec[field] = v;
  }
  if (body.outcome !== undefined) {
    if (body.outcome !== 'COMPLETED' && body.outcome !== 'FAILED' && body.outcome !== 'TIMEOUT') return 'outcome must be COMPLETED, FAILED or TIMEOUT';
    spec.outcome = body.outcome;
  }
  if (body.hold !== undefined) {
    if (typeof body.hold !== 'boolean') return 'hold must be true or false';
    spec.hold = body.hold;
  }
  if (body.array !== undefined) {
    const m = typeof body.array === 'string' ? /^(\d+)-(\d+)(?:%(\d+))?$/.exec(body.array) : null;
    if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) - Number(m[1]) > 100_000) return 'array must look like "1-100" or "1-100%4"';
    spec.array = { first: Number(m[1]), last: Number(m[2]), max: m[3] ? Number(m[3]) : undefined };
  }
  return spec;
}
