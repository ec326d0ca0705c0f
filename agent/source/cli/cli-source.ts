// SlurmSource over the Slurm client binaries, for sites without slurmrestd:
//   jobs          squeue --json   (22.05 prints the v0.0.38 serializer's JSON: same adapter)
//   nodes         sinfo --json
//   partitions    scontrol show partition --oneliner
//   reservations  scontrol show reservation --oneliner
//   controller    scontrol ping
//   qos, accounts, associations   sacctmgr -P -n show ...  (failure marks them failed)
// Later releases print newer serializers; the version is read from each answer's `meta`.
// There is no update_time in the CLI, so nothing is ever "unchanged".
import { SlurmResponseError, SlurmUnavailableError } from '../../../shared/errors/index.js';
import type { ClusterModel, KindName } from '../../../shared/model/index.js';
import { emptyClusterModel } from '../../../shared/model/index.js';
import { adapterFor, isSupportedVersion } from '../../normalize/index.js';
import type { SourceDeps } from '../deps.js';
import { SingleFlight } from '../single-flight.js';
import { checkCommand, controllerUnreachable, executeWithCli, firstError, runSlurm, type SlurmRunner } from '../slurm-commands/index.js';
import type { CommandOutcome, PollResult, SlurmCommand, SlurmSource, SubmitOutcome, SubmitRequest } from '../source.js';
import { submitWithSbatch } from './cli-submit.js';
import {
  ACCOUNT_FORMAT,
  ASSOCIATION_FORMAT,
  parseAccounts,
  parseAssociations,
  parsePartitions,
  parsePing,
  parseQos,
  parseReservations,
  QOS_FORMAT,
} from './parse.js';

export interface CliSourceOptions {
  cluster: string;
  /** Directory of squeue, sinfo, scontrol, scancel, sacctmgr; unset means PATH. */
  binDir?: string;
  /** Per command; default 60 s. */
  timeoutMs?: number;
  /** Largest output accepted per command; default 256 MiB. */
  maxOutputBytes?: number;
}

const DEFAULT_VERSION = 'v0.0.38';

export class CliSource implements SlurmSource {
  readonly name = 'cli' as const;
  private readonly run: SlurmRunner;
  private readonly polls = new SingleFlight<PollResult>();
  private readonly closing = new AbortController();
  private readonly clock: () => number;
  private last: Partial<ClusterModel> = {};
  private apiVersion = DEFAULT_VERSION;

  constructor(
    private readonly options: CliSourceOptions,
    private readonly deps: SourceDeps = {},
  ) {
    this.clock = deps.clock ?? Date.now;
    this.run =
      deps.run ??
      ((binary, args, signal) =>
        runSlurm(binary, args, {
          binDir: options.binDir,
          timeoutMs: options.timeoutMs ?? 60_000,
          maxOutputBytes: options.maxOutputBytes ?? 256 * 1024 * 1024,
          env: deps.env,
          signal,
        }));
  }

  poll(signal?: AbortSignal): Promise<PollResult> {
    return this.polls.run(() => this.pollOnce(), signal);
  }

  async execute(command: SlurmCommand, signal?: AbortSignal): Promise<CommandOutcome> {
    return executeWithCli(checkCommand(command), this.run, signal);
  }

  /** sbatch --parsable as the user (runuser: the agent runs as root). */
  submit(request: SubmitRequest, signal?: AbortSignal): Promise<SubmitOutcome> {
    return submitWithSbatch(request, { ...(this.options.binDir ? { binDir: this.options.binDir } : {}), timeoutMs: this.options.timeoutMs ?? 60_000, env: this.deps.env ?? process.env }, signal);
  }

  async close(): Promise<void> {
    this.closing.abort(new SlurmUnavailableError('CLI source closed'));
  }

  private async pollOnce(): Promise<PollResult> {
    const cluster = this.options.cluster;
    const model = emptyClusterModel();
    const failed = new Map<KindName, Error>();
    const observedAt = new Date(this.clock()).toISOString();
    const pingStart = this.clock();
    let release = '';

    await Promise.all([
      this.text('scontrol', ['ping']).then((out) => {
        const latency = this.clock() - pingStart;
        model.controller = parsePing(out, cluster).map((c) => ({ ...c, latency_ms: latency, observed_at: observedAt }));
      }),
      this.json('squeue', ['--json']).then(([version, body]) => {
        model.job = adapterFor(version).jobs(body, cluster);
        this.apiVersion = version;
        release = slurmRelease(body);
      }),
      this.json('sinfo', ['--json']).then(([version, body]) => {
        model.node = adapterFor(version).nodes(body, cluster);
      }),
      this.text('scontrol', ['show', 'partition', '--oneliner']).then((out) => {
        model.partition = parsePartitions(out, cluster);
      }),
      this.text('scontrol', ['show', 'reservation', '--oneliner']).then((out) => {
        model.reservation = parseReservations(out, cluster);
      }),
      this.accounting('qos', ['show', 'qos', `format=${QOS_FORMAT}`], (out) => (model.qos = parseQos(out, cluster)), model, failed),
      this.accounting('account', ['show', 'account', 'withcoord', `format=${ACCOUNT_FORMAT}`], (out) => (model.account = parseAccounts(out, cluster)), model, failed),
      this.accounting('association', ['show', 'association', `format=${ASSOCIATION_FORMAT}`], (out) => (model.association = parseAssociations(out, cluster)), model, failed),
    ]);
    for (const c of model.controller) {
      c.api_version = this.apiVersion;
      c.slurm_version = release;
    }
    return { model, unchanged: new Set(), failed, apiVersion: this.apiVersion, endpoint: `cli:${this.options.binDir ?? 'PATH'}` };
  }

  /** One sacctmgr list: a failure keeps the previous list and marks the kind failed. */
  private async accounting(
    kind: 'qos' | 'account' | 'association',
    args: string[],
    apply: (out: string) => unknown,
    model: ClusterModel,
    failed: Map<KindName, Error>,
  ): Promise<void> {
    try {
      apply(await this.text('sacctmgr', ['-P', '-n', ...args]));
      this.last[kind] = model[kind] as never;
    } catch (err) {
      failed.set(kind, err as Error);
      (model[kind] as unknown[]) = this.last[kind] ?? [];
      this.deps.logger?.warn({ kind, err: (err as Error).message }, 'sacctmgr failed; keeping the previous list');
    }
  }

  private async text(binary: string, args: string[]): Promise<string> {
    const end = this.deps.reads?.start(`${binary} ${args.filter((a) => !a.startsWith('format=')).join(' ')}`);
    let res: Awaited<ReturnType<typeof this.run>>;
    try {
      res = await this.run(binary, args, this.closing.signal);
    } catch (err) {
      end?.(err);
      throw err;
    }
    end?.(res.code !== 0 ? new Error(`exit ${res.code}`) : undefined);
    if (res.code !== 0) {
      const why = firstError(res.stderr, res.stdout);
      if (controllerUnreachable(res.stderr) || binary === 'sacctmgr') {
        throw new SlurmUnavailableError(`${binary} ${args[0]} failed (exit ${res.code}): ${why}`);
      }
      throw new SlurmResponseError(`${binary} ${args.join(' ').slice(0, 60)} failed (exit ${res.code}): ${why}`);
    }
    return res.stdout;
  }

  /** A `--json` dump and the serializer version that printed it. */
  private async json(binary: string, args: string[]): Promise<[string, object]> {
    const out = await this.text(binary, args);
    let body: unknown;
    try {
      body = JSON.parse(out);
    } catch {
      throw new SlurmResponseError(`${binary} ${args.join(' ')} printed ${out.trim() === '' ? 'nothing' : 'invalid JSON'} (${out.length} bytes)`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new SlurmResponseError(`${binary} ${args.join(' ')} printed JSON that is not an object`);
    }
    return [serializerVersion(body), body];
  }
}

/** `meta.Slurm.release` (22.05..23.02) or `meta.slurm.release` ("22.05.8"). */
function slurmRelease(body: object): string {
  const meta = (body as { meta?: { Slurm?: { release?: unknown }; slurm?: { release?: unknown } } }).meta;
  const release = meta?.Slurm?.release ?? meta?.slurm?.release;
  return typeof release === 'string' ? release : '';
}

/**
 * 22.05: `meta.plugin.type` "openapi/v0.0.38"; 23.02+: `meta.plugin.data_parser` "v0.0.39"
 * (or `meta.plugins.data_parser`). Unknown or missing means v0.0.38.
 */
export function serializerVersion(body: object): string {
  const meta = (body as { meta?: { plugin?: Record<string, unknown>; plugins?: Record<string, unknown> } }).meta;
  const candidates = [meta?.plugin?.data_parser, meta?.plugins?.data_parser, meta?.plugin?.type];
  for (const c of candidates) {
    if (typeof c !== 'string') continue;
    const m = /v?(\d+\.\d+\.\d+)$/.exec(c);
    if (m && isSupportedVersion(`v${m[1]}`)) return `v${m[1]}`;
  }
  return DEFAULT_VERSION;
}
