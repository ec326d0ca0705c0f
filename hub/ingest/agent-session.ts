// One agent stream: identity check, hello/welcome, deltas applied in seq order (durable
// before the ack), snapshot requests on gaps, commands out and results back.
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import { AgentRole, AgentServiceService, type AgentMessage, type Delta, type HubMessage } from '../../generated/fleet/v1/agent.js';
import { FastDeltaDecoder } from '../../shared/delta/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { identityFromSubjectAltName, type PeerIdentity } from '../../shared/tls/index.js';
import { agentRefusalEvent, type AuditLog } from '../audit/index.js';
import type { CommandRouter } from '../commands/index.js';
import type { EventLog } from '../events/index.js';
import type { FleetState } from '../fleet/index.js';
import type { ClusterOwnership, OwnershipTarget } from '../leader/index.js';
import type { FleetStore } from '../store/index.js';
import { answerCertificateRequest, type AgentCertificates } from './certificate-renewal.js';

export interface IngestDeps {
  state: FleetState;
  store?: FleetStore;
  commands: CommandRouter;
  logger: Logger;
  hubId: string;
  heartbeatMs: number;
  /** Missed heartbeats after which an agent counts as gone and its standby is promoted. */
  failoverThreshold?: number;
  helloTimeoutMs?: number;
  /** Where the events a delta carries go (deduplicated by id). */
  events?: EventLog;
  /** After each delta is durable and applied (clustered hubs publish it to the others here). */
  onApplied?: (delta: Delta) => void;
  /** Revocation checks and certificate renewal for agent streams. */
  certificates?: AgentCertificates;
  /** Refusals (wrong certificate, wrong cluster) are audited before the stream closes. */
  audit?: Pick<AuditLog, 'record'>;
  /** Clustered hubs: which hub of the region may have the cluster's active agent (etcd). */
  ownership?: ClusterOwnership;
}

type Call = ServerDuplexStream<AgentMessage, HubMessage>;

/** Most milliseconds of applying deltas per event-loop turn before other work gets a turn. */
const APPLY_TURN_MS = 5;

/** Streams by cluster: the one that may write. A newer stream replaces an older one. */
export class IngestRegistry {
  /** The one stream per cluster that may write. */
  readonly active = new Map<string, AgentSession>();
  /** Other agents of the cluster (the backup head node), in connection order: promoted in turn. */
  readonly standby = new Map<string, AgentSession[]>();
  readonly stats = { deltasApplied: 0, duplicates: 0, gaps: 0, snapshots: 0, rejected: 0, batches: 0 };
  readonly decoder = new FastDeltaDecoder();
  /** Each received delta's bytes, so the WAL stores them instead of encoding the delta again. */
  private readonly encoded = new WeakMap<Delta, Uint8Array>();
  /**
   * The AgentService definition to serve: the generated one, with a request decoder that is
   * faster for deltas (same result) and remembers their bytes.
   */
  readonly service: typeof AgentServiceService = {
    ...AgentServiceService,
    connect: {
      ...AgentServiceService.connect,
      requestDeserialize: (bytes: Buffer): AgentMessage => this.decoder.decodeAgentMessage(bytes, (delta, encoded) => this.encoded.set(delta, encoded)),
    },
  };

  /** Applies waiting for their turn on the event loop (runSoon). */
  private readonly runQueue: (() => void)[] = [];
  private turnScheduled = false;

  constructor(readonly deps: IngestDeps) {}

  /**
   * Runs fn (applying one stream's durable deltas) on the event loop, in arrival order with the
   * other streams', at most about APPLY_TURN_MS of them per turn: when many clusters' deltas
   * land at once, API requests get the event loop in between instead of after all of them.
   */
  runSoon(fn: () => void): void {
    this.runQueue.push(fn);
    this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled || this.runQueue.length === 0) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      const start = performance.now();
      while (this.runQueue.length > 0) {
        this.runQueue.shift()!();
        if (performance.now() - start > APPLY_TURN_MS) break;
      }
      this.scheduleTurn();
    });
  }

  /** The bytes a received delta was decoded from (undefined for deltas made in this process). */
  encodedBytes(delta: Delta): Uint8Array | undefined {
    return this.encoded.get(delta);
  }

  handle(call: Call): void {
    new AgentSession(call, this).start();
  }

  /** Clustered hubs: one active agent per cluster fleet-wide, by the ownership in etcd. */
  useOwnership(ownership: ClusterOwnership & { attach(target: OwnershipTarget): void }): void {
    this.deps.ownership = ownership;
    ownership.attach({
      activeAgents: () => new Map([...this.active].map(([cluster, s]) => [cluster, s.agentName])),
      waitingClusters: () => {
        const waiting = new Map<string, string>();
        for (const [cluster, list] of this.standby) {
          const next = list.find((s) => !s.silent());
          if (next && !this.active.has(cluster)) waiting.set(cluster, next.agentName);
        }
        return waiting;
      },
      promote: (cluster, reason) => {
        const list = this.standby.get(cluster) ?? [];
        const next = list.find((s) => !s.silent());
        if (!next || this.active.has(cluster)) return false;
        list.splice(list.indexOf(next), 1);
        next.activate(reason);
        return true;
      },
      demote: (cluster, reason) => this.active.get(cluster)?.demote(reason),
    });
  }
}

class AgentSession {
  private identity?: PeerIdentity;
  private cluster = '';
  agentName = '';
  role?: 'active' | 'standby' | 'pending';
  private awaitingSnapshot = false;
  /** Deltas received and not yet applied, in arrival order; drained once per event-loop turn. */
  private queue: Delta[] = [];
  /** A drain loop runs (scheduled or waiting for a WAL fsync). */
  private draining = false;
  private closed = false;
  /** A refusal is being audited; the stream closes once it is recorded. */
  private refused = false;
  private detachCommands?: () => void;
  private detachCertificate?: () => void;
  private certSerial = '';
  private helloTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private lastHeard = Date.now();
  private log: Logger;

  constructor(
    private readonly call: Call,
    private readonly registry: IngestRegistry,
  ) {
    this.log = registry.deps.logger.child({ peer: call.getPeer() });
  }

  start(): void {
    const cert = this.call.getAuthContext()?.sslPeerCertificate;
    this.identity = identityFromSubjectAltName(cert?.subjectaltname);
    if (!this.identity || this.identity.role !== 'agent' || !this.identity.cluster) {
      this.refuse(status.PERMISSION_DENIED, 'SF_INGEST_NOT_AN_AGENT: this stream needs an agent certificate (spiffe://<td>/cluster/<c>/agent/<n>)');
      return;
    }
    this.certSerial = cert?.serialNumber ?? '';
    const revoked = this.registry.deps.certificates?.admit(this.certSerial);
    if (revoked) return this.refuse(status.UNAUTHENTICATED, revoked);
    this.detachCertificate = this.registry.deps.certificates?.attach(this.certSerial, (code, details) => this.fail(code, details));
    this.helloTimer = setTimeout(() => this.fail(status.DEADLINE_EXCEEDED, 'SF_INGEST_NO_HELLO: no hello within the deadline'), this.registry.deps.helloTimeoutMs ?? 10_000);
    this.call.on('data', (msg: AgentMessage) => this.onMessage(msg));
    this.call.on('error', () => this.close());
    this.call.on('end', () => {
      this.close();
      this.call.end();
    });
    this.call.on('cancelled', () => this.close());
  }

  private onMessage(msg: AgentMessage): void {
    if (this.closed || this.refused) return;
    this.lastHeard = Date.now();
    const body = msg.body;
    if (!body) return;
    if (!this.cluster && body.$case !== 'hello') {
      this.fail(status.FAILED_PRECONDITION, 'SF_INGEST_NO_HELLO: the first message must be a hello');
      return;
    }
    switch (body.$case) {
      case 'hello': {
        clearTimeout(this.helloTimer);
        const hello = body.value;
        if (hello.cluster !== this.identity!.cluster) {
          this.registry.stats.rejected++;
          this.log.warn({ certCluster: this.identity!.cluster, claimed: hello.cluster }, 'agent tried to speak for another cluster');
          this.refuse(status.PERMISSION_DENIED, `SF_INGEST_WRONG_CLUSTER: this certificate speaks for cluster "${this.identity!.cluster}", not "${hello.cluster}"`, hello.cluster);
          return;
        }
        this.cluster = hello.cluster;
        this.agentName = this.identity!.name;
        this.log = this.log.child({ cluster: this.cluster, agent: this.agentName });
        this.register(hello.slurm_api_version);
        break;
      }
      case 'delta':
        if (this.role !== 'active') {
          this.log.warn({ seq: body.value.seq }, 'ignoring a delta from a standby agent');
          break;
        }
        // Deltas are applied strictly one after another, in batches: every delta that arrived
        // while the previous batch was being made durable shares one WAL write and one fsync
        // (group commit).
        this.queue.push(body.value);
        if (!this.draining) {
          this.draining = true;
          setImmediate(() => void this.drain());
        }
        break;
      case 'command_result':
        this.registry.deps.commands.resolve(body.value);
        break;
      case 'heartbeat':
        if (body.value.slurm_api_version) this.registry.deps.state.cluster(this.cluster).slurmApiVersion = body.value.slurm_api_version;
        break;
      case 'certificate_request':
        void answerCertificateRequest(this.registry.deps.certificates, this.identity!, this.certSerial, body.value.csr_pem).then((answer) => this.write(answer));
        break;
    }
  }

  private register(slurmApiVersion: string): void {
    const { state } = this.registry.deps;
    state.cluster(this.cluster).slurmApiVersion = slurmApiVersion;
    this.startHeartbeats();
    const current = this.registry.active.get(this.cluster);
    if (current && current !== this) {
      if (current.agentName !== this.agentName && !current.silent()) {
        this.becomeStandby();
        return;
      }
      // This hub owns the cluster already: the new stream takes over before the old one
      // closes, so the ownership is not released in between.
      this.registry.active.set(this.cluster, this);
      if (current.agentName === this.agentName) {
        // The same agent again (a restart, a new connection): the old stream is stale.
        current.fail(status.ABORTED, `SF_INGEST_SUPERSEDED: a newer stream of agent ${this.agentName} took over cluster ${this.cluster}`);
      } else {
        current.fail(status.UNAVAILABLE, 'SF_INGEST_AGENT_SILENT: replaced by a live agent of the same cluster');
      }
      this.activate('connected');
      return;
    }
    const ownership = this.registry.deps.ownership;
    if (!ownership) {
      this.activate('connected');
      return;
    }
    // No agent of the cluster is active here: another hub of the region may have one.
    this.role = 'pending';
    void ownership.acquire(this.cluster, this.agentName).then(
      (owned) => this.settleRole(owned),
      () => this.settleRole(false),
    );
  }

  private settleRole(owned: boolean): void {
    const other = this.registry.active.get(this.cluster);
    if (this.closed) {
      if (owned && !other) this.registry.deps.ownership?.release(this.cluster);
      return;
    }
    // Another agent of the cluster may have become active here meanwhile.
    if (owned && !other) this.activate('connected');
    else this.becomeStandby();
  }

  /** Another hub owns the cluster now: this agent stops writing and waits as a standby. */
  demote(reason: string): void {
    if (this.role !== 'active' || this.closed) return;
    this.role = 'standby';
    // Deltas not yet durable are the agent's to resend if it is promoted again.
    this.queue = [];
    this.registry.active.delete(this.cluster);
    this.detachCommands?.();
    this.detachCommands = undefined;
    const list = this.registry.standby.get(this.cluster) ?? [];
    list.unshift(this);
    this.registry.standby.set(this.cluster, list);
    const record = this.registry.deps.state.cluster(this.cluster);
    this.write({ body: { $case: 'role_change', value: { role: AgentRole.AGENT_ROLE_STANDBY, epoch: record.epoch, seq: record.seq, reason } } });
    this.log.warn({ reason }, 'active agent demoted to standby');
    this.registry.deps.state.emit('cluster', record);
  }

  /** Missed more heartbeats than the failover threshold allows. */
  silent(): boolean {
    const { heartbeatMs, failoverThreshold } = this.registry.deps;
    return Date.now() - this.lastHeard > (failoverThreshold ?? 3) * heartbeatMs;
  }

  private startHeartbeats(): void {
    const { heartbeatMs, failoverThreshold } = this.registry.deps;
    // Both sides beat; a side silent for failover_threshold beats is gone (a cut network sends no RST).
    this.heartbeatTimer = setInterval(() => {
      if (this.silent()) {
        this.fail(status.UNAVAILABLE, `SF_INGEST_AGENT_SILENT: no message from the agent for ${failoverThreshold ?? 3} heartbeats`);
        return;
      }
      this.write({ body: { $case: 'heartbeat', value: { sent_at: new Date().toISOString(), slurm_api_version: '' } } });
    }, heartbeatMs);
  }

  private becomeStandby(): void {
    const { state, hubId, heartbeatMs } = this.registry.deps;
    this.role = 'standby';
    const list = this.registry.standby.get(this.cluster) ?? [];
    list.push(this);
    this.registry.standby.set(this.cluster, list);
    const record = state.cluster(this.cluster);
    this.write({ body: { $case: 'welcome', value: { epoch: record.epoch, seq: record.seq, hub_id: hubId, heartbeat_interval_ms: heartbeatMs, role: AgentRole.AGENT_ROLE_STANDBY } } });
    this.log.info({ active: this.registry.active.get(this.cluster)?.agentName }, 'agent connected as standby');
  }

  /** Makes this stream the cluster's writer: on connect (welcome) or on promotion (role change). */
  activate(reason: string): void {
    const { state, commands, hubId, heartbeatMs } = this.registry.deps;
    const promoted = this.role === 'standby';
    this.role = 'active';
    this.registry.active.set(this.cluster, this);
    const record = state.cluster(this.cluster);
    record.connected = true;
    record.agent = this.agentName;
    this.detachCommands = commands.attach(this.cluster, (command) => this.write({ body: { $case: 'command', value: command } }));
    if (promoted) {
      this.write({ body: { $case: 'role_change', value: { role: AgentRole.AGENT_ROLE_ACTIVE, epoch: record.epoch, seq: record.seq, reason } } });
    } else {
      this.write({ body: { $case: 'welcome', value: { epoch: record.epoch, seq: record.seq, hub_id: hubId, heartbeat_interval_ms: heartbeatMs, role: AgentRole.AGENT_ROLE_ACTIVE } } });
    }
    this.log.info({ epoch: record.epoch, seq: record.seq, reason }, promoted ? 'standby agent promoted to active' : 'agent connected');
    state.emit('cluster', record);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.closed && !this.refused) {
        const batch = this.queue;
        this.queue = [];
        await this.applyBatch(batch);
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'applying a delta failed');
      this.fail(status.INTERNAL, 'SF_INGEST_APPLY_FAILED: the hub could not store the delta');
    } finally {
      this.draining = false;
    }
  }

  /**
   * Exactly what applying the deltas one by one does (check, durable write, apply, ack each),
   * except that a run of consecutive deltas is written to the WAL with one fsync before any of
   * them is applied or acked: still "ack only after a durable apply".
   */
  private async applyBatch(batch: Delta[]): Promise<void> {
    const { state } = this.registry.deps;
    const stats = this.registry.stats;
    let run: Delta[] = [];
    for (const delta of batch) {
      if (this.closed) return;
      if (delta.cluster !== this.cluster || delta.upserts.some((o) => o.kind && o.kind.value.cluster !== this.cluster)) {
        await this.commit(run);
        stats.rejected++;
        this.refuse(status.PERMISSION_DENIED, `SF_INGEST_WRONG_CLUSTER: this stream speaks for cluster "${this.cluster}" only`);
        return;
      }
      // The next seq after the run's last delta fits without asking the state (not applied yet).
      const last = run[run.length - 1];
      if (last && !delta.snapshot && delta.epoch === last.epoch && delta.seq === last.seq + 1) {
        run.push(delta);
        continue;
      }
      await this.commit(run);
      run = [];
      if (this.closed) return;
      const fit = state.fit(delta);
      if (fit === 'duplicate') {
        stats.duplicates++;
        const record = state.cluster(this.cluster);
        this.write({ body: { $case: 'ack', value: { epoch: record.epoch, seq: record.seq } } });
        continue;
      }
      if (fit === 'gap') {
        stats.gaps++;
        if (!this.awaitingSnapshot) {
          this.awaitingSnapshot = true;
          const record = state.cluster(this.cluster);
          this.log.info({ have: [record.epoch, record.seq], got: [delta.epoch, delta.seq] }, 'gap in the stream: asking for a snapshot');
          this.write({ body: { $case: 'snapshot_request', value: { reason: `hub has epoch ${record.epoch} seq ${record.seq}, got epoch ${delta.epoch} seq ${delta.seq}` } } });
        }
        continue;
      }
      if (delta.snapshot) {
        // A snapshot replaces the checkpoint: it is committed on its own.
        this.awaitingSnapshot = false;
        stats.snapshots++;
        await this.commit([delta]);
      } else run.push(delta);
    }
    await this.commit(run);
  }

  /**
   * Durable first (events, then the deltas in one WAL write and fsync), then apply and ack each.
   * The fsync runs off the event loop; what is durable is applied even if the stream closed
   * meanwhile (the state must hold what the WAL holds), and only acked on a live stream.
   */
  private async commit(deltas: Delta[]): Promise<void> {
    if (deltas.length === 0 || this.closed) return;
    const { store, events } = this.registry.deps;
    // Events first: durable and deduplicated by id, so a crash before the ack only means the
    // agent resends them and nothing is recorded twice.
    for (const delta of deltas) events?.record(this.cluster, delta.events);
    await store?.appendBatchDurable(deltas.map((delta) => ({ delta, encoded: this.registry.encodedBytes(delta) })));
    this.registry.stats.batches++;
    await new Promise<void>((resolve, reject) =>
      this.registry.runSoon(() => {
        try {
          this.applyDurable(deltas);
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      }),
    );
  }

  /** Applies and acks deltas that are in the WAL, in order. */
  private applyDurable(deltas: Delta[]): void {
    const { state, store, logger, onApplied } = this.registry.deps;
    const stats = this.registry.stats;
    for (const delta of deltas) {
      // Another stream of this cluster (a stale one it replaced) may have applied it meanwhile.
      if (state.fit(delta) !== 'apply') {
        const record = state.cluster(this.cluster);
        this.write({ body: { $case: 'ack', value: { epoch: record.epoch, seq: record.seq } } });
        continue;
      }
      state.apply(delta);
      onApplied?.(delta);
      stats.deltasApplied++;
      const record = state.cluster(this.cluster);
      store?.maybeCheckpoint(record);
      this.write({ body: { $case: 'ack', value: { epoch: delta.epoch, seq: delta.seq } } });
      if (logger.isLevelEnabled('debug')) this.log.debug({ seq: delta.seq, upserts: delta.upserts.length, removals: delta.removals.length }, 'delta applied');
    }
  }

  private write(msg: HubMessage): void {
    if (this.closed) return;
    this.call.write(msg);
  }

  /** fail(), after the refusal is in the audit log (or failed to get there: refusing is safe either way). */
  private refuse(code: status, details: string, claimedCluster?: string): void {
    const audit = this.registry.deps.audit;
    if (!audit || this.closed) return this.fail(code, details);
    this.refused = true;
    const event = agentRefusalEvent({ peer: this.call.getPeer(), identity: this.identity, claimedCluster: claimedCluster ?? this.cluster, details });
    void audit.record(event).catch(() => undefined).finally(() => this.fail(code, details));
  }

  fail(code: status, details: string): void {
    if (this.closed) return;
    this.log.warn({ code, details }, 'closing agent stream');
    this.call.emit('error', { code, details, metadata: undefined });
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    clearInterval(this.heartbeatTimer);
    this.detachCommands?.();
    this.detachCertificate?.();
    const standby = this.registry.standby.get(this.cluster);
    if (standby?.includes(this)) {
      standby.splice(standby.indexOf(this), 1);
      this.log.info('standby agent disconnected');
    }
    if (this.cluster && this.registry.active.get(this.cluster) === this) {
      this.registry.active.delete(this.cluster);
      const next = standby?.find((s) => !s.silent());
      if (next) {
        standby!.splice(standby!.indexOf(next), 1);
        next.activate(`agent ${this.agentName} went away`);
        return;
      }
      const record = this.registry.deps.state.cluster(this.cluster);
      record.connected = false;
      this.registry.deps.state.emit('cluster', record);
      this.registry.deps.ownership?.release(this.cluster);
      this.log.info('agent disconnected');
    }
  }
}
