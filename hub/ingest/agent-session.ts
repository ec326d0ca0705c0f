// One agent stream: identity check, hello/welcome, heartbeats, commands out and results back,
// certificate renewal, audited refusals. Its role (active, standby, pending) is the
// ClusterWriters' to decide (writers.ts); its deltas go to a DeltaApplier (delta-apply.ts).
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { AgentRole, type AgentMessage, type HubMessage } from '../../generated/fleet/v1/agent.js';
import { isoNow, type Clock } from '../../shared/clock/index.js';
import { toGrpcStatus, type FleetError } from '../../shared/errors/index.js';
import { SilenceWatch } from '../../shared/liveness/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { PeerIdentity } from '../../shared/tls/index.js';
import { agentRefusalEvent, type AuditLog } from '../audit/index.js';
import type { CommandRouter } from '../commands/index.js';
import type { FleetState } from '../fleet/index.js';
import { answerCertificateRequest, type AgentCertificates } from './certificate-renewal.js';
import { DeltaApplier, type DeltaApplierDeps } from './delta-apply.js';
import { AgentSilentError, NoHelloError, NotAnAgentError } from './errors.js';
import type { IngestStats } from './stats.js';
import type { AgentReports } from './agent-reports.js';
import { agentIdentity, checkHello } from './verify.js';
import type { ClusterWriters, Writer } from './writers.js';

type Call = ServerDuplexStream<AgentMessage, HubMessage>;

/** What one agent stream needs of the hub. */
/** Bytes a connection must bring between two beats to count as the agent speaking (hub/limits/connection-activity.ts). */
const HEARD_BYTES = 1024;

export interface AgentSessionDeps {
  writers: Pick<ClusterWriters<AgentSession>, 'claim' | 'release' | 'writerOf' | 'roleOf'>;
  /** Where its deltas go, stage by stage. */
  applier: DeltaApplierDeps;
  /** The cluster's record: its position (welcome, role change) and Slurm API version. */
  state: Pick<FleetState, 'cluster'>;
  commands: Pick<CommandRouter, 'attach' | 'resolve'>;
  certificates?: AgentCertificates;
  audit?: Pick<AuditLog, 'record'>;
  logger: Logger;
  clock: Clock;
  stats: IngestStats;
  /** Heartbeat reports for the per-agent metrics. */
  reports?: AgentReports;
  hubId: string;
  heartbeatMs: number;
  /**
   * Bytes read so far on the connection of the call from this peer (hub/limits/connection-activity.ts):
   * while a large message arrives its heartbeats wait behind it, and the bytes show it is sending.
   */
  connectionBytes?: (peer: string) => number | undefined;
  /** Missed heartbeats after which an agent counts as gone. */
  failoverThreshold: number;
  helloTimeoutMs: number;
}

export class AgentSession implements Writer {
  private identity?: PeerIdentity;
  cluster = '';
  agentName = '';
  private readonly deltas: DeltaApplier;
  private closed = false;
  /** A refusal is being audited; the stream closes once it is recorded. */
  private refused = false;
  /** The welcome is sent: later roles go as role changes. */
  private welcomed = false;
  private detachCommands?: () => void;
  private detachCertificate?: () => void;
  private certSerial = '';
  private helloTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private readonly silence: SilenceWatch;
  private readonly peer: string;
  private bytesSeen?: number;
  private log: Logger;

  constructor(
    private readonly call: Call,
    private readonly deps: AgentSessionDeps,
  ) {
    this.peer = call.getPeer();
    this.log = deps.logger.child({ peer: this.peer });
    this.silence = new SilenceWatch(deps.heartbeatMs, deps.failoverThreshold, () => deps.clock.now());
    this.deltas = new DeltaApplier(deps.applier, {
      cluster: () => this.cluster,
      log: () => this.log,
      closed: () => this.closed,
      refused: () => this.refused,
      write: (msg) => this.write(msg),
      refuse: (err) => this.refuse(err),
      end: (err) => this.end(err),
    });
  }

  start(): void {
    const cert = this.call.getAuthContext()?.sslPeerCertificate;
    const identity = agentIdentity(cert?.subjectaltname);
    if (identity instanceof NotAnAgentError) return this.refuse(identity);
    this.identity = identity;
    this.certSerial = cert?.serialNumber ?? '';
    const revoked = this.deps.certificates?.admit(this.certSerial);
    if (revoked) return this.refuse(revoked);
    this.detachCertificate = this.deps.certificates?.attach(this.certSerial, (err) => this.end(err));
    this.helloTimer = setTimeout(() => this.end(NoHelloError.timedOut()), this.deps.helloTimeoutMs);
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
    this.silence.heard();
    const body = msg.body;
    if (!body) return;
    if (!this.cluster && body.$case !== 'hello') {
      this.end(NoHelloError.notFirst());
      return;
    }
    switch (body.$case) {
      case 'hello': {
        clearTimeout(this.helloTimer);
        const hello = body.value;
        const wrong = checkHello(this.identity!, hello.cluster);
        if (wrong) {
          this.deps.stats.rejected++;
          this.log.warn({ certCluster: this.identity!.cluster, claimed: hello.cluster }, 'agent tried to speak for another cluster');
          this.refuse(wrong, hello.cluster);
          return;
        }
        this.cluster = hello.cluster;
        this.agentName = this.identity!.name;
        this.log = this.log.child({ cluster: this.cluster, agent: this.agentName });
        this.deps.state.cluster(this.cluster).slurmApiVersion = hello.slurm_api_version;
        this.startHeartbeats();
        this.deps.reports?.heard(this, this.cluster, this.agentName, undefined, hello.agent_version);
        this.deps.writers.claim(this);
        break;
      }
      case 'delta':
        if (this.deps.writers.roleOf(this) !== 'active') {
          this.log.warn({ seq: body.value.seq }, 'ignoring a delta from a standby agent');
          break;
        }
        this.deltas.push(body.value);
        break;
      case 'command_result':
        this.deps.commands.resolve(body.value);
        break;
      case 'heartbeat':
        this.deps.reports?.heard(this, this.cluster, this.agentName, body.value.report);
        if (body.value.slurm_api_version) this.deps.state.cluster(this.cluster).slurmApiVersion = body.value.slurm_api_version;
        break;
      case 'certificate_request':
        void answerCertificateRequest(this.deps.certificates, this.identity!, this.certSerial, body.value.csr_pem).then((answer) => this.write(answer));
        break;
    }
  }

  /** Missed more heartbeats than the failover threshold allows. */
  silent(): boolean {
    return this.silence.sinceHeard() > this.deps.failoverThreshold * this.deps.heartbeatMs;
  }

  ended(): boolean {
    return this.closed;
  }

  private startHeartbeats(): void {
    const { heartbeatMs, failoverThreshold, clock } = this.deps;
    // Both sides beat; a side silent for failover_threshold beats is gone (a cut network sends no RST).
    this.bytesSeen = this.deps.connectionBytes?.(this.peer);
    this.heartbeatTimer = setInterval(() => {
      this.heardByBytes();
      // Not this.silent(): after a stall of this hub the agent's messages may be waiting unread.
      if (this.silence.silent()) {
        this.end(AgentSilentError.forBeats(failoverThreshold));
        return;
      }
      this.write({ body: { $case: 'heartbeat', value: { sent_at: isoNow(clock), slurm_api_version: '', report: undefined } } });
    }, heartbeatMs);
  }

  /**
   * A message's worth of bytes arrived on the agent's connection since the last look: it is
   * sending, so it is heard. Less does not count: HTTP/2 keep-alive pings and window updates
   * (a few dozen bytes each) keep coming from a connection whose stream says nothing.
   */
  private heardByBytes(): void {
    const bytes = this.deps.connectionBytes?.(this.peer);
    if (bytes === undefined) return;
    const grew = bytes - (this.bytesSeen ?? bytes);
    this.bytesSeen = bytes;
    if (grew >= HEARD_BYTES) this.silence.heard();
  }

  /** The role ClusterWriters gave this stream: told to the agent, writing started or stopped. */
  takeRole(role: 'active' | 'standby', reason: string): void {
    // The durable position: deltas held in memory (not durable) are the agent's to resend.
    const { epoch, seq } = this.deltas.position(this.cluster);
    const wire = role === 'active' ? AgentRole.AGENT_ROLE_ACTIVE : AgentRole.AGENT_ROLE_STANDBY;
    const first = !this.welcomed;
    this.welcomed = true;
    if (role === 'active') {
      this.detachCommands = this.deps.commands.attach(this.cluster, (command) => this.write({ body: { $case: 'command', value: command } }));
    } else {
      // Deltas not yet durable are the agent's to resend if it is promoted again.
      this.deltas.clear();
      this.detachCommands?.();
      this.detachCommands = undefined;
    }
    if (first) {
      this.write({ body: { $case: 'welcome', value: { epoch, seq, hub_id: this.deps.hubId, heartbeat_interval_ms: this.deps.heartbeatMs, role: wire, snapshot_parts: true } } });
    } else {
      this.write({ body: { $case: 'role_change', value: { role: wire, epoch, seq, reason } } });
    }
    if (role === 'active') this.log.info({ epoch, seq, reason }, first ? 'agent connected' : 'standby agent promoted to active');
    else if (first) this.log.info({ active: this.deps.writers.writerOf(this.cluster)?.agentName }, 'agent connected as standby');
    else this.log.warn({ reason }, 'active agent demoted to standby');
  }

  private write(msg: HubMessage): void {
    if (this.closed) return;
    this.call.write(msg);
  }

  /** end(), after the refusal is in the audit log (or failed to get there: refusing is safe either way). */
  private refuse(err: FleetError, claimedCluster?: string): void {
    const audit = this.deps.audit;
    if (!audit || this.closed) return this.end(err);
    this.refused = true;
    const details = toGrpcStatus(err).details;
    const event = agentRefusalEvent({ peer: this.call.getPeer(), identity: this.identity, claimedCluster: claimedCluster ?? this.cluster, details });
    void audit.record(event).catch(() => undefined).finally(() => this.end(err));
  }

  /** Ends the stream with the error's status and `<code>: <message>` (what the agent reads). */
  end(err: FleetError): void {
    const { code, details } = toGrpcStatus(err);
    this.fail(code, details);
  }

  /** Ends the stream with this gRPC status (end() renders typed errors into it). */
  fail(code: number, details: string): void {
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
    this.deps.reports?.gone(this);
    this.detachCommands?.();
    this.detachCertificate?.();
    const role = this.deps.writers.roleOf(this);
    if (role === 'standby' && this.deps.writers.writerOf(this.cluster) !== this) this.log.info('standby agent disconnected');
    this.deps.writers.release(this);
  }
}
