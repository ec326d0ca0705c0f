// SlurmSource over slurmrestd. One poll:
//   1. ping + diag (small). diag's `req_time` is slurmctld's clock when the poll started; it
//      becomes the next `update_time` (slurmctld answers 304 iff update_time > its last change,
//      so nothing is missed; a repeat is possible and harmless).
//   2. in parallel: jobs and partitions with update_time (304 = reuse the previous list), nodes
//      (v0.0.38: never with update_time, 22.05 answers 500/errno -1 when nodes changed but
//      partitions did not; newer: with it, and that same 500 means "changed, fetch again
//      without"), reservations, and the slurmdbd lists (qos, accounts, associations) whose
//      failure marks those kinds failed instead of failing the poll.
// A 404 on a slurmctld path means slurmrestd no longer serves our version (upgrade): the
// version is negotiated again and the poll retried once.
// Several endpoints: the transport's EndpointPool picks one (failover or round_robin, health
// checks on /slurm/vX/ping); its down/up/switch events and the slurmctld ones seen in ping
// (SlurmctldWatch) wait in `takeEvents()` for the pipeline to spool them.
// Commands go through rest-commands.ts (REST endpoint, simulator, or scontrol/scancel).
import type { FleetEvent } from '../../../generated/fleet/v1/agent.js';
import { ConfigError, SlurmResponseError, SlurmUnavailableError } from '../../../shared/errors/index.js';
import type { ClusterModel, ControllerHealth, Job, KindName, Node } from '../../../shared/model/index.js';
import { emptyClusterModel } from '../../../shared/model/index.js';
import {
  adapterFor,
  ElementCache,
  isSupportedVersion,
  parseSlurmResponse,
  streamedList,
  SUPPORTED_VERSIONS,
  type ListLimits,
  type ParsedResponse,
} from '../../normalize/index.js';
import type { SourceDeps } from '../deps.js';
import { SingleFlight } from '../single-flight.js';
import { checkCommand, runSlurm, type SlurmRunner } from '../slurm-commands/index.js';
import type { CommandOutcome, PollResult, SlurmCommand, SlurmSource, SubmitOutcome, SubmitRequest } from '../source.js';
import { submitThroughRest } from './rest-submit.js';
import { SlurmctldWatch, slurmctldUnreachable, unreachableControllers } from './controller-events.js';
import type { EndpointStatus, LoadBalancing } from './endpoint-pool.js';
import { negotiateVersion } from './negotiate.js';
import { executeRestCommand, type CommandChannel, type RestApi } from './rest-commands.js';
import type { RestRequest, RestResponse } from './rest-exchange.js';
import type { SlurmrestdStats } from './request-stats.js';
import { RestTransport, type RestAuth } from './transport.js';

export interface RestSourceOptions {
  /** The fleet's name for this cluster; stamped on every object. */
  cluster: string;
  /** Tried in order on connection failure: `http(s)://host:port` or `unix:/path.sock`. */
  endpoints: string[];
  /** JWT user and token; omit for a rest_auth/local unix socket. */
  auth?: RestAuth;
  /** Speak this version and skip negotiation ("v0.0.41"). */
  apiVersion?: string;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  /** The endpoint is the project's simulator even if its spec does not say so. */
  simulator?: boolean;
  /**
   * Largest buffered answer accepted; default 256 MiB. /jobs and /nodes are read as they
   * arrive, with no total cap (100,000 jobs are about 320 MB on v0.0.38) but `listLimits`.
   */
  maxBodyBytes?: number;
  /** Per job or node, and for everything around the list; default 16 MiB each. */
  listLimits?: ListLimits;
  /** Fetch the slurmdbd lists every N-th poll; default 1 (every poll: they are small). */
  accountingEvery?: number;
  /** Where scontrol lives, for commands this API version has no endpoint for. */
  binDir?: string;
  /** https endpoints: a CA (PEM) to trust instead of the system's, or no check. */
  tls?: { ca?: string; insecure: boolean };
  /** `slurm.load_balancing`; default: move to the next endpoint at the first failure and stay, no health checks. */
  loadBalancing?: LoadBalancing;
}


/** Kinds fetched with update_time: slurmctld keeps a last-change time for each. */
type TimedKind = 'job' | 'partition' | 'node';
type DbKind = 'qos' | 'account' | 'association';

/** Events kept for the pipeline at most; older ones are dropped (and logged) if nobody takes them. */
const MAX_PENDING_EVENTS = 1000;

/** What one poll collects. */
interface Round {
  model: ClusterModel;
  unchanged: Set<KindName>;
  failed: Map<KindName, Error>;
  /** slurmctld's clock (unix seconds) when this poll started, from diag. */
  serverNow?: number;
  /** The update_time of each kind for the next poll. */
  next: Partial<Record<TimedKind, number>>;
}

/** A list normalized as its answer arrives (normalize/list-stream.ts). */
interface ListReader<T> {
  write(chunk: Buffer): void;
  finish(status: number): T;
}

/** slurmrestd stopped serving our version (404 on a slurmctld path). */
class VersionGone extends Error {}

export class RestSource implements SlurmSource {
  readonly name = 'rest' as const;
  private readonly transport: RestTransport;
  private readonly clock: () => number;
  private readonly run: SlurmRunner;
  private readonly polls = new SingleFlight<PollResult>();
  private readonly closing = new AbortController();
  private negotiation?: Promise<RestApi>;
  /** The last lists read, reused on 304 and for failed slurmdbd kinds. */
  private last: Partial<ClusterModel> = {};
  /** Per kind, the slurmctld second the previous successful fetch started. */
  private since: Partial<Record<TimedKind, number>> = {};
  private pollCount = 0;
  /** The controllers of the last ping answered: marked down while slurmctld cannot be reached. */
  private knownControllers: ControllerHealth[] = [];
  /** The version spoken, once known: health checks ping it. */
  private version?: string;
  /** The requests of the poll under way: one outcome per endpoint for the pool. */
  private round?: Map<number, number>;
  private readonly slurmctld: SlurmctldWatch;
  private readonly listLimits: ListLimits;
  /** Jobs and nodes of the last full answers, reused when slurmrestd sends one unchanged. */
  private jobCache = new ElementCache<Job>('');
  private nodeCache = new ElementCache<Node>('');
  private pendingEvents: FleetEvent[] = [];
  private readonly eventListeners: (() => void)[] = [];

  constructor(
    private readonly options: RestSourceOptions,
    private readonly deps: SourceDeps = {},
  ) {
    this.transport = new RestTransport({
      endpoints: options.endpoints,
      auth: options.auth,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxBodyBytes: options.maxBodyBytes ?? 256 * 1024 * 1024,
      loadBalancing: options.loadBalancing,
      tls: options.tls,
      pool: { cluster: options.cluster, clock: deps.clock, onEvent: (e) => this.addEvent(e) },
    });
    this.clock = deps.clock ?? Date.now;
    this.listLimits = options.listLimits ?? { maxElementBytes: 16 * 1024 * 1024, maxOtherBytes: 16 * 1024 * 1024 };
    this.slurmctld = new SlurmctldWatch({ cluster: options.cluster, clock: deps.clock });
    this.run =
      deps.run ??
      ((binary, args, signal) =>
        runSlurm(binary, args, { binDir: options.binDir, timeoutMs: options.timeoutMs ?? 30_000, maxOutputBytes: 1 << 20, env: deps.env, signal }));
    if (options.apiVersion) {
      if (!isSupportedVersion(options.apiVersion)) {
        throw new ConfigError(`slurm.api_version "${options.apiVersion}" is not supported (use one of ${SUPPORTED_VERSIONS.join(', ')})`);
      }
      const api = { version: options.apiVersion, adapter: adapterFor(options.apiVersion), simulator: options.simulator ?? false };
      this.negotiation = Promise.resolve(api);
      this.version = api.version;
      this.jobCache = new ElementCache<Job>(api.version);
      this.nodeCache = new ElementCache<Node>(api.version);
    }
    // Health checks ping the negotiated version; before that the newest supported one (a 404 is an answer too).
    this.transport.pool.start((index) => this.transport.probe(index, `/slurm/${this.version ?? SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]}/ping`));
  }

  /** Controller events since the last call, oldest first. */
  takeEvents(): FleetEvent[] {
    const events = this.pendingEvents;
    this.pendingEvents = [];
    return events;
  }

  /** `listener` runs (synchronously) whenever an event is waiting. */
  onEvents(listener: () => void): void {
    this.eventListeners.push(listener);
  }

  /** Requests to slurmrestd: latency and errors by kind (sfleet_agent_slurmrestd_*). */
  get slurmrestdStats(): SlurmrestdStats {
    return this.transport.stats;
  }

  /** Health of each slurmrestd endpoint, for logs and tests. */
  endpoints(): EndpointStatus[] {
    return this.transport.pool.status();
  }

  private addEvent(event: FleetEvent): void {
    const log = event.severity === 'info' ? this.deps.logger?.info : this.deps.logger?.warn;
    log?.call(this.deps.logger, { event: event.type, ...event.attributes }, event.message);
    this.pendingEvents.push(event);
    if (this.pendingEvents.length > MAX_PENDING_EVENTS) {
      const dropped = this.pendingEvents.splice(0, this.pendingEvents.length - MAX_PENDING_EVENTS);
      this.deps.logger?.warn({ dropped: dropped.length }, 'controller events: nobody took them; dropping the oldest');
    }
    for (const listener of this.eventListeners) listener();
  }

  poll(signal?: AbortSignal): Promise<PollResult> {
    return this.polls.run(() => this.withApi((api) => this.fetchAll(api)), signal);
  }

  async execute(command: SlurmCommand, signal?: AbortSignal): Promise<CommandOutcome> {
    const checked = checkCommand(command);
    return this.withApi((api) => executeRestCommand(api, checked, this.commandChannel, signal), signal);
  }

  async submit(request: SubmitRequest, signal?: AbortSignal): Promise<SubmitOutcome> {
    return this.withApi(
      (api) =>
        submitThroughRest(api.version, request, (path, body, user, sig) => this.transport.request({ method: 'POST', path, body, actAs: user, signal: sig ?? this.closing.signal }), signal),
      signal,
    );
  }

  async close(): Promise<void> {
    this.closing.abort(new SlurmUnavailableError('slurmrestd source closed'));
    await this.transport.pool.stop();
    this.transport.close();
  }

  // ---- version --------------------------------------------------------------------------

  private api(signal?: AbortSignal): Promise<RestApi> {
    if (!this.negotiation) {
      const p = negotiateVersion(this.transport, SUPPORTED_VERSIONS, signal ?? this.closing.signal).then((found) => {
        this.deps.logger?.info({ endpoint: this.transport.endpoint, api_version: found.version, via: found.via, simulator: found.simulator }, 'slurmrestd API version negotiated');
        this.version = found.version;
        this.jobCache = new ElementCache<Job>(found.version);
        this.nodeCache = new ElementCache<Node>(found.version);
        return { version: found.version, adapter: adapterFor(found.version), simulator: found.simulator || (this.options.simulator ?? false) };
      });
      p.catch(() => {
        if (this.negotiation === p) this.negotiation = undefined;
      });
      this.negotiation = p;
    }
    return this.negotiation;
  }

  /** Runs work on the negotiated version; after a 404 for it, negotiates again and retries once. */
  private async withApi<T>(work: (api: RestApi) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await work(await this.api(signal));
    } catch (err) {
      if (!(err instanceof VersionGone)) throw err;
    }
    if (this.options.apiVersion) {
      throw new SlurmUnavailableError(`slurmrestd ${this.transport.endpoint} does not serve the configured API version ${this.options.apiVersion}`);
    }
    this.deps.logger?.warn({ endpoint: this.transport.endpoint }, 'slurmrestd answered 404 for our API version: negotiating again');
    this.negotiation = undefined;
    this.last = {};
    this.since = {};
    try {
      return await work(await this.api(signal));
    } catch (err) {
      if (err instanceof VersionGone) throw new SlurmUnavailableError(`slurmrestd ${this.transport.endpoint} answers 404 for the API version it offers`);
      throw err;
    }
  }

  // ---- poll -----------------------------------------------------------------------------

  private async fetchAll(api: RestApi): Promise<PollResult> {
    this.round = new Map();
    try {
      return await this.fetchRound(api);
    } finally {
      this.round = undefined;
    }
  }

  private async fetchRound(api: RestApi): Promise<PollResult> {
    const { version: v, adapter } = api;
    const cluster = this.options.cluster;
    const observedAt = new Date(this.clock()).toISOString();
    // round_robin: each poll on the next healthy endpoint.
    this.transport.pool.rotate();

    // 1. controller health, and slurmctld's clock for the next update_time
    const pingStart = this.clock();
    const [ping, diag] = await Promise.all([
      this.get(`/slurm/${v}/ping`, 'ping').catch((err: unknown) => (slurmctldUnreachable(err) && this.knownControllers.length ? err : Promise.reject(err))),
      this.get(`/slurm/${v}/diag`, 'diag').catch((err: unknown) => (err instanceof VersionGone ? Promise.reject(err) : (err as Error))),
    ]);
    if (ping instanceof Error) return this.slurmctldDown(ping, v, observedAt);
    const pingMs = this.clock() - pingStart;
    // Without diag the controllers still come from ping; only the next update_time is lost.
    if (diag instanceof Error) this.deps.logger?.warn({ err: diag.message }, 'slurmrestd diag failed');
    const round: Round = {
      model: emptyClusterModel(),
      unchanged: new Set(),
      failed: new Map(),
      serverNow: diag instanceof Error || diag.unchanged ? undefined : serverTime(diag.body),
      next: {},
    };
    round.model.controller = this.controllers(api, ping, diag, pingMs, observedAt);
    this.knownControllers = round.model.controller;
    for (const event of this.slurmctld.observe(round.model.controller)) this.addEvent(event);

    // 2. the lists
    const withDb = this.pollCount++ % Math.max(1, this.options.accountingEvery ?? 1) === 0;
    await Promise.all([
      this.timed(round, 'job', `/slurm/${v}/jobs`, (b) => adapter.jobs(b, cluster), true, () => streamedList(adapter, 'job', cluster, this.listLimits, this.jobCache)),
      this.timed(round, 'partition', `/slurm/${v}/partitions`, (b) => adapter.partitions(b, cluster)),
      // v0.0.38 fails update_time on /nodes unless partitions changed too: always the full list.
      this.timed(round, 'node', `/slurm/${v}/nodes`, (b) => adapter.nodes(b, cluster), v !== 'v0.0.38', () => streamedList(adapter, 'node', cluster, this.listLimits, this.nodeCache)),
      this.get(`/slurm/${v}/reservations`, 'reservations').then((r) => {
        round.model.reservation = adapter.reservations(body(r, 'reservations'), cluster);
      }),
      this.db(round, 'qos', `/slurmdb/${v}/qos`, withDb, (b) => adapter.qos(b, cluster)),
      this.db(round, 'account', `/slurmdb/${v}/accounts`, withDb, (b) => adapter.accounts(b, cluster)),
      this.db(round, 'association', `/slurmdb/${v}/associations`, withDb, (b) => adapter.associations(b, cluster)),
    ]);
    const { model, unchanged, failed } = round;
    this.since = round.next;
    this.last = { ...this.last, job: model.job, partition: model.partition, node: model.node };
    return { model, unchanged, failed, apiVersion: v, endpoint: this.transport.endpoint };
  }

  /**
   * slurmrestd answers but slurmctld does not: the known controllers as not responding (the hub
   * raises cluster_controller_down, the watch says controller_down), every list kept as it was.
   */
  private slurmctldDown(err: Error, version: string, observedAt: string): PollResult {
    const model = emptyClusterModel();
    model.controller = unreachableControllers(this.knownControllers, observedAt);
    for (const event of this.slurmctld.observe(model.controller)) this.addEvent(event);
    const failed = new Map<KindName, Error>();
    for (const kind of Object.keys(model) as KindName[]) if (kind !== 'controller') failed.set(kind, err);
    return { model, unchanged: new Set(), failed, apiVersion: version, endpoint: this.transport.endpoint };
  }

  /** A list slurmctld can answer 304 for: ask with update_time once a previous list exists. */
  private async timed<K extends TimedKind>(
    round: Round,
    kind: K,
    path: string,
    read: (body: unknown) => ClusterModel[K],
    useUpdateTime = true,
    stream?: () => ListReader<ClusterModel[K]>,
  ): Promise<void> {
    const what = path.slice(path.lastIndexOf('/') + 1);
    const previous = this.last[kind];
    const since = this.since[kind];
    // A 2xx JSON answer is normalized while it arrives; anything else (304, errors) is buffered.
    let list: ListReader<ClusterModel[K]> | undefined;
    const sink = (status: number, contentType: string): ListReader<ClusterModel[K]> | undefined => {
      list = stream && status >= 200 && status < 300 && isJson(contentType.toLowerCase()) ? stream() : undefined;
      return list;
    };
    let res: RestResponse | undefined;
    if (useUpdateTime && since !== undefined && previous) {
      res = await this.request(`${path}?update_time=${since}`, 'GET', undefined, undefined, stream && sink);
      if (kind === 'node' && isNodesUpdateBug(res)) {
        this.deps.logger?.debug({ path }, 'nodes update_time answered 500/errno -1: fetching the full list');
        res = undefined;
      }
    }
    res ??= await this.request(path, 'GET', undefined, undefined, stream && sink);
    if (res.streamed && list) {
      round.model[kind] = list.finish(res.status);
      list = undefined;
      if (round.serverNow !== undefined) round.next[kind] = round.serverNow;
      return;
    }
    const parsed = parseSlurmResponse(res.status, res.contentType, res.text, what);
    if (parsed.unchanged) {
      if (!previous) throw new SlurmResponseError(`slurmrestd answered 304 for ${what} without an update_time`);
      round.model[kind] = previous;
      round.unchanged.add(kind);
    } else {
      round.model[kind] = read(parsed.body);
    }
    if (round.serverNow !== undefined) round.next[kind] = round.serverNow;
  }

  /** A slurmdbd list: skipped between accounting polls, kept (and marked failed) when slurmdbd fails. */
  private async db<K extends DbKind>(round: Round, kind: K, path: string, fetch: boolean, read: (body: unknown) => ClusterModel[K]): Promise<void> {
    const previous = this.last[kind];
    if (!fetch && previous) {
      round.model[kind] = previous;
      round.unchanged.add(kind);
      return;
    }
    try {
      round.model[kind] = read(body(await this.get(path, kind), kind));
      this.last[kind] = round.model[kind];
    } catch (err) {
      if (err instanceof VersionGone) throw err;
      round.failed.set(kind, err as Error);
      if (previous) round.model[kind] = previous;
      this.deps.logger?.warn({ kind, err: (err as Error).message }, 'slurmdbd list unavailable; keeping the previous one');
    }
  }

  private controllers(
    api: RestApi,
    ping: ParsedResponse,
    diag: ParsedResponse | Error,
    pingMs: number,
    observedAt: string,
  ): ControllerHealth[] {
    const list = api.adapter.ping(body(ping, 'ping'), this.options.cluster);
    const { diag: statistics, ...load } = diag instanceof Error ? { diag: undefined } : api.adapter.diag(body(diag, 'diag'));
    let counted = false;
    for (const c of list) {
      c.api_version = api.version;
      c.endpoint = this.transport.endpoint;
      c.observed_at = observedAt;
      c.latency_ms ??= pingMs;
      // diag describes the controller that answered: the primary, or whichever is up.
      if (diag instanceof Error || !c.responding) continue;
      Object.assign(c, load);
      // Its counters go on one controller only, so a sum over controllers counts them once.
      if (statistics && !counted) c.diag = statistics;
      counted = true;
    }
    return list;
  }

  // ---- commands (rest-commands.ts) ---------------------------------------------------------

  private get commandChannel(): CommandChannel {
    return {
      cluster: this.options.cluster,
      request: (path, method, body, signal) => this.request(path, method, body, signal),
      simCommand: (command, signal) => this.transport.request({ method: 'POST', path: '/sim/v1/command', body: command, signal: signal ?? this.closing.signal }),
      run: this.run,
    };
  }

  // ---- HTTP -----------------------------------------------------------------------------

  private async request(path: string, method: 'GET' | 'POST' | 'DELETE' = 'GET', body?: unknown, signal?: AbortSignal, sink?: RestRequest['sink']): Promise<RestResponse> {
    const end = this.deps.reads?.start(`${method} ${path.replace(/\?.*$/, '')}`);
    let res: RestResponse;
    try {
      res = await this.transport.request({ method, path, body, signal: signal ?? this.closing.signal, round: this.round, sink });
    } catch (err) {
      end?.(err);
      throw err;
    }
    end?.(res.status >= 500 ? new Error(`HTTP ${res.status}`) : undefined);
    if (res.status === 404 && path.startsWith('/slurm/') && !isJson(res.contentType)) throw new VersionGone();
    return res;
  }

  /** GET and parse; a slurmdbd path answering 404 is "no accounting", not a version change. */
  private async get(path: string, what: string): Promise<ParsedResponse> {
    const res = await this.request(path);
    if (res.status === 404 && path.startsWith('/slurmdb/')) throw new SlurmUnavailableError(`slurmrestd serves no ${path} (is accounting enabled?)`, 404);
    return parseSlurmResponse(res.status, res.contentType, res.text, what);
  }
}

function isJson(contentType: string): boolean {
  return contentType.includes('json');
}

function body(parsed: ParsedResponse, what: string): unknown {
  if (parsed.unchanged) throw new SlurmResponseError(`slurmrestd answered 304 for ${what}`);
  return parsed.body;
}

/** 22.05's `/nodes?update_time` answer when nodes changed but partitions did not. */
function isNodesUpdateBug(res: RestResponse): boolean {
  if (res.status !== 500 || res.text.length > 65_536) return false;
  try {
    const doc = JSON.parse(res.text) as { errors?: { errno?: unknown; error_number?: unknown }[] };
    return Array.isArray(doc.errors) && doc.errors.some((e) => e?.errno === -1 || e?.error_number === -1);
  } catch {
    return false;
  }
}

/** diag's `statistics.req_time`: slurmctld's clock, flat (v0.0.38/39) or {set, number}. */
export function serverTime(diagBody: unknown): number | undefined {
  const t = (diagBody as { statistics?: { req_time?: unknown } } | null)?.statistics?.req_time;
  const n = typeof t === 'number' ? t : (t as { set?: unknown; number?: unknown } | null)?.set === true ? (t as { number?: unknown }).number : undefined;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}
