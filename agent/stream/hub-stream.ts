// The agent's side of the bidi stream to a hub: hello, resume by seq, send spooled deltas,
// free them on acks, run hub commands, and reconnect with jittered backoff over the list of
// hub endpoints. The spool is the only source of what is sent, so a reconnect resumes
// exactly where the hub's ack left off.
import { connectivityState, credentials as grpcCredentials, makeGenericClientConstructor, type ChannelCredentials, type Client, type ClientDuplexStream, type ClientOptions } from '@grpc/grpc-js';
import { AgentMessage, AgentRole, AgentServiceService, type AgentReport, type Command, type CommandResult, type HubMessage, type Welcome } from '../../generated/fleet/v1/agent.js';
import { SilenceWatch } from '../../shared/liveness/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { grpcClientCredentials, type TlsMaterial } from '../../shared/tls/credentials.js';
import { isWireDelta, type DeltaSpool, type WireDelta } from '../spool/index.js';
import type { CertificateRenewal } from './certificate-renewal.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

export interface HubStreamOptions {
  cluster: string;
  agentName: string;
  agentVersion: string;
  endpoints: string[];
  tls: () => TlsMaterial;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  heartbeatMs?: number;
  /** Deltas sent beyond the last ack before waiting. */
  window?: number;
  helloTimeoutMs?: number;
  /** Give up a connection not READY (TCP, TLS, HTTP/2) within this long (default: the hello timeout). */
  connectTimeoutMs?: number;
}

export interface HubStreamDeps {
  logger: Logger;
  spool: DeltaSpool;
  runCommand: (command: Command) => Promise<CommandResult>;
  slurmApiVersion: () => string;
  /** What the agent is doing, sent with each heartbeat (the hub's per-agent metrics). */
  report?: () => AgentReport;
  /** A span per traced delta sent (agent/observe PollTrace). */
  trace?: { send(traceparent: string | undefined, seq: number): { end(): void } | undefined };
  /** The hub made this agent active or standby for its cluster. */
  onRole?: (role: StreamRole) => void;
  /** Runs before an activation is reconciled, e.g. a fresh poll so a snapshot is current. */
  beforeActivate?: () => Promise<unknown>;
  /** Renews the agent certificate over this stream before it expires. */
  renewal?: CertificateRenewal;
}

export type StreamRole = 'active' | 'standby';

type Duplex = ClientDuplexStream<AgentMessage | WireDelta, HubMessage>;

/**
 * The generated client, except that a delta goes out as the spool encoded it: re-encoding a
 * 100k-job snapshot per send cost its size several times over in memory, and CPU.
 */
const AgentClient = makeGenericClientConstructor(
  {
    connect: {
      ...AgentServiceService.connect,
      requestSerialize: (value: AgentMessage | WireDelta): Buffer =>
        isWireDelta(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : Buffer.from(AgentMessage.encode(value).finish()),
    },
  },
  'fleet.v1.AgentService',
) as unknown as new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>) => AgentClient;
type AgentClient = Client & { connect(): Duplex };

/** Delta bytes written to the stream and not yet flushed before the next one waits. */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

export class HubStream {
  private stopped = false;
  private call?: Duplex;
  private client?: AgentClient;
  private sentSeq = 0;
  /** The spool epoch sentSeq counts in: a compaction (spool full, spool writable again) starts a new one from seq 1. */
  private sentEpoch = 0;
  private welcomed = false;
  private readonly backoff: ReconnectBackoff;
  private endpointIndex = 0;
  private timer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private silence?: SilenceWatch;
  /** The hub applies snapshots sent in parts (Welcome.snapshot_parts); else they go joined. */
  private hubTakesParts = false;
  /** Delta bytes handed to this call's stream and not yet written out (one counter per call). */
  private inFlight = { bytes: 0 };
  private helloTimer?: NodeJS.Timeout;
  private connectTimer?: NodeJS.Timeout;
  /** The TLS files last read successfully: a broken replacement file does not stop the agent. */
  private lastGoodTls?: TlsMaterial;
  /** Counters a test or a metric endpoint can read. */
  readonly stats = { connects: 0, disconnects: 0, deltasSent: 0, acks: 0, snapshotRequests: 0, commands: 0 };
  endpoint?: string;
  lastError?: string;
  /** Set by the hub; only an active agent sends deltas. */
  role?: StreamRole;

  constructor(
    private readonly opts: HubStreamOptions,
    private readonly deps: HubStreamDeps,
  ) {
    this.backoff = new ReconnectBackoff({ initialMs: opts.initialBackoffMs, maxMs: opts.maxBackoffMs });
  }

  /** A failing stream, logged the first time and then once a minute (a flapping hub would flood the log). */
  private logFailure(log: Logger, fields: Record<string, unknown>, msg: string): void {
    const { log: now, suppressed } = this.backoff.shouldLog();
    if (now) log.warn({ ...fields, ...(suppressed ? { failed_since_last_log: suppressed } : {}) }, msg);
  }

  get connected(): boolean {
    return this.welcomed;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.teardown();
  }

  /** New deltas are in the spool: send them if the stream is up. */
  notify(): void {
    if (this.welcomed && this.role === 'active') this.flush();
  }

  private connect(): void {
    if (this.stopped) return;
    const endpoint = this.opts.endpoints[this.endpointIndex % this.opts.endpoints.length];
    this.endpoint = endpoint;
    const log = this.deps.logger.child({ hub: endpoint });
    let creds;
    try {
      // The files are read on every connection: a rotated certificate is used from the next one.
      this.lastGoodTls = this.opts.tls();
      creds = grpcClientCredentials(this.lastGoodTls);
    } catch (err) {
      this.lastError = (err as Error).message;
      if (!this.lastGoodTls) {
        log.error({ err: this.lastError }, 'cannot load TLS material for the hub connection');
        this.scheduleReconnect();
        return;
      }
      log.error({ err: this.lastError }, 'the TLS files on disk are unusable; connecting with the ones read before');
      creds = grpcClientCredentials(this.lastGoodTls);
    }
    this.client = new AgentClient(endpoint, creds ?? grpcCredentials.createInsecure(), {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 256 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 200,
    });
    const call = this.client.connect();
    this.call = call;
    this.sentSeq = 0;
    this.inFlight = { bytes: 0 };
    this.welcomed = false;

    call.on('data', (msg: HubMessage) => this.onMessage(msg, log));
    call.on('error', (err: Error & { code?: number; details?: string }) => {
      if (call !== this.call) return;
      this.lastError = err.details || err.message;
      this.logFailure(log, { code: err.code, err: this.lastError }, 'hub stream failed');
      this.onDisconnect();
    });
    call.on('end', () => {
      if (call !== this.call) return;
      this.logFailure(log, {}, 'hub ended the stream');
      this.onDisconnect();
    });
    call.write({
      body: {
        $case: 'hello',
        value: {
          cluster: this.opts.cluster,
          agent_name: this.opts.agentName,
          epoch: this.deps.spool.epoch,
          last_seq: this.deps.spool.lastSeq,
          agent_version: this.opts.agentVersion,
          slurm_api_version: this.deps.slurmApiVersion(),
        },
      },
    });
    const helloMs = this.opts.helloTimeoutMs ?? 10_000;
    this.helloTimer = setTimeout(() => {
      if (call === this.call && !this.welcomed) {
        this.lastError = 'no welcome from the hub in time';
        log.warn(this.lastError);
        this.onDisconnect();
      }
    }, helloMs);
    // A connection that is not even up is given up sooner than a hub slow to welcome: after a
    // network cut heals, a connect started during the cut would wait for the kernel's next SYN.
    const connectMs = this.opts.connectTimeoutMs ?? helloMs;
    const client = this.client;
    if (connectMs < helloMs) {
      this.connectTimer = setTimeout(() => {
        if (call !== this.call || this.welcomed || client.getChannel().getConnectivityState(false) === connectivityState.READY) return;
        this.lastError = `no connection to the hub within ${connectMs} ms`;
        log.warn(this.lastError);
        this.onDisconnect();
      }, connectMs);
    }
  }

  private onMessage(msg: HubMessage, log: Logger): void {
    this.silence?.heard();
    const body = msg.body;
    if (!body) return;
    switch (body.$case) {
      case 'welcome':
        this.onWelcome(body.value, log);
        break;
      case 'ack':
        this.stats.acks++;
        this.deps.spool.ack(body.value.epoch, body.value.seq);
        this.flush();
        break;
      case 'snapshot_request':
        this.stats.snapshotRequests++;
        log.info({ reason: body.value.reason }, 'hub asked for a snapshot');
        this.deps.spool.compactToSnapshot(`hub asked: ${body.value.reason}`);
        this.sentSeq = 0;
        this.flush();
        break;
      case 'command':
        this.stats.commands++;
        void this.handleCommand(body.value, log);
        break;
      case 'heartbeat':
        break;
      case 'certificate_issued':
        void this.deps.renewal?.onIssued(body.value);
        break;
      case 'certificate_refused':
        this.deps.renewal?.onRefused(body.value);
        break;
      case 'role_change':
        if (body.value.role === AgentRole.AGENT_ROLE_STANDBY) this.becomeStandby(log, body.value.reason);
        else void this.activate(body.value.epoch, body.value.seq, log, body.value.reason || 'promoted by the hub');
        break;
    }
  }

  private becomeStandby(log: Logger, reason: string): void {
    if (this.role !== 'standby') log.info({ reason }, 'standby: another agent of this cluster is active; not sending deltas');
    this.role = 'standby';
    this.deps.onRole?.('standby');
  }

  /** Becomes the cluster's writer: resume after the hub's position, or start over from a snapshot. */
  private async activate(hubEpoch: number, hubSeq: number, log: Logger, why: string): Promise<void> {
    const call = this.call;
    if (this.role === 'standby' && this.deps.beforeActivate) {
      // A standby's state is old: poll first so what the hub gets is current.
      try {
        await this.deps.beforeActivate();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'poll before activation failed; activating with the spooled state');
      }
      if (call !== this.call) return;
    }
    const spool = this.deps.spool;
    // Does the hub's position fit what we hold? Same epoch, and somewhere between our
    // acked seq and our newest seq: resume after it. Anything else: start over from a snapshot.
    if (hubEpoch === spool.epoch && hubSeq >= spool.ackedSeq && hubSeq <= spool.lastSeq) {
      spool.ack(hubEpoch, hubSeq);
      this.sentSeq = hubSeq;
      this.sentEpoch = spool.epoch;
      log.info({ why, epoch: spool.epoch, hubSeq, resend: spool.lastSeq - hubSeq }, 'active, resuming');
    } else if (spool.startsWithSnapshot() && hubEpoch < spool.epoch) {
      // Nothing of this epoch acked yet and it opens with its snapshot (a first poll, a
      // reconnect while a snapshot was on its way): send it as it is, no new one. Only when
      // the hub's epoch is older: epochs move forward (followers ignore older ones), so after
      // another agent's newer epoch this agent starts a new one.
      this.sentSeq = 0;
      log.info({ why, hubEpoch, hubSeq, epoch: spool.epoch, seq: spool.lastSeq }, 'active; sending this epoch from its snapshot');
    } else {
      log.info({ why, hubEpoch, hubSeq, epoch: spool.epoch, seq: spool.lastSeq }, 'active; the hub position does not fit ours: sending a snapshot');
      spool.compactToSnapshot('hub position does not match the spool');
      this.sentSeq = 0;
    }
    this.role = 'active';
    this.deps.onRole?.('active');
    this.flush();
  }

  private onWelcome(welcome: Welcome, log: Logger): void {
    clearTimeout(this.helloTimer);
    clearTimeout(this.connectTimer);
    this.welcomed = true;
    // The backoff starts over only once this stream proves stable (ReconnectBackoff).
    this.backoff.connected();
    this.stats.connects++;
    this.lastError = undefined;
    const interval = this.opts.heartbeatMs ?? (welcome.heartbeat_interval_ms || 5_000);
    this.hubTakesParts = welcome.snapshot_parts;
    this.silence = new SilenceWatch(interval, 3);
    const silence = this.silence;
    this.heartbeat = setInterval(() => {
      // A hub silent for three beats is gone even if TCP has not noticed (blackholed network);
      // a stall of this process is not the hub's silence (its messages may be unread).
      if (silence.silent()) {
        this.lastError = `no message from the hub for ${3 * interval} ms`;
        log.warn(this.lastError);
        this.onDisconnect();
        return;
      }
      this.call?.write({ body: { $case: 'heartbeat', value: { sent_at: new Date().toISOString(), slurm_api_version: this.deps.slurmApiVersion(), report: this.deps.report?.() } } });
    }, interval);
    const call = this.call;
    this.deps.renewal?.attach({
      send: (csrPem) => (call === this.call ? call?.write({ body: { $case: 'certificate_request', value: { csr_pem: csrPem } } }) : undefined),
      reconnect: (reason) => (call === this.call ? this.reconnectNow(reason, log) : undefined),
    });
    if (welcome.role === AgentRole.AGENT_ROLE_STANDBY) this.becomeStandby(log, 'welcomed as standby');
    else void this.activate(welcome.epoch, welcome.seq, log, 'connected');
  }

  private flush(): void {
    const call = this.call;
    if (!call || !this.welcomed || this.role !== 'active') return;
    const spool = this.deps.spool;
    const inFlight = this.inFlight;
    const window = this.opts.window ?? 256;
    if (spool.epoch !== this.sentEpoch) {
      this.sentEpoch = spool.epoch;
      this.sentSeq = 0;
    }
    for (const { seq, wire, part, parts, traceparent } of spool.unackedWire()) {
      if (seq <= this.sentSeq) continue;
      // A snapshot's parts are acked together at the last one: all of them go, window or not.
      if (part === 0 && seq - spool.ackedSeq > window) break;
      let message = wire;
      if (part > 0 && !this.hubTakesParts) {
        // A hub without parts gets the snapshot as one message, at its last part.
        if (part < parts) continue;
        message = spool.joinedWire(seq);
      }
      // Paced by bytes: gRPC copies each message into its own frame, so a snapshot's parts
      // written all at once would hold the snapshot twice; a few MiB in flight keep the pipe full.
      if (inFlight.bytes > 0 && inFlight.bytes + message.length > MAX_IN_FLIGHT_BYTES) return;
      inFlight.bytes += message.length;
      const size = message.length;
      const span = this.deps.trace?.send(traceparent, seq);
      call.write(message, () => {
        span?.end();
        inFlight.bytes -= size;
        if (call === this.call) this.flush();
      });
      this.sentSeq = seq;
      this.stats.deltasSent++;
    }
  }

  private async handleCommand(command: Command, log: Logger): Promise<void> {
    let result: CommandResult;
    try {
      result = await this.deps.runCommand(command);
    } catch (err) {
      result = { id: command.id, ok: false, message: (err as Error).message, code: 'SF_AGENT_COMMAND_FAILED', via: '', history: [], job_id: '' };
    }
    log.info({ id: command.id, kind: command.kind, target: command.target, ok: result.ok, via: result.via }, 'hub command done');
    this.call?.write({ body: { $case: 'command_result', value: result } });
  }

  /** Ends this stream and opens a new one to the same hub at once (e.g. with a renewed certificate). */
  private reconnectNow(reason: string, log: Logger): void {
    if (this.stopped) return;
    log.info({ reason }, 'reconnecting to the hub');
    if (this.welcomed) this.stats.disconnects++;
    this.teardown();
    this.connect();
  }

  private teardown(): void {
    this.deps.renewal?.detach();
    clearTimeout(this.helloTimer);
    clearTimeout(this.connectTimer);
    clearInterval(this.heartbeat);
    const call = this.call;
    this.call = undefined;
    this.welcomed = false;
    if (call) {
      call.removeAllListeners('data');
      call.on('error', () => {});
      call.cancel();
    }
    this.client?.close();
    this.client = undefined;
  }

  private onDisconnect(): void {
    if (this.welcomed) this.stats.disconnects++;
    this.teardown();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    // A stream that lived a while counts as a fresh start: retry the same hub at once first.
    const { delayMs, sameHub } = this.backoff.next();
    if (!sameHub) this.endpointIndex++;
    this.timer = setTimeout(() => this.connect(), delayMs);
  }
}
