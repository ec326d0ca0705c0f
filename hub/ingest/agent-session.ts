// One agent stream: identity check, hello/welcome, its role (active, standby, pending while the
// region-wide ownership is asked), heartbeats, commands out and results back, certificate
// renewal, audited refusals. Its deltas go to a DeltaApplier (delta-apply.ts).
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import { AgentRole, type AgentMessage, type HubMessage } from '../../generated/fleet/v1/agent.js';
import { SilenceWatch } from '../../shared/liveness/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { identityFromSubjectAltName, type PeerIdentity } from '../../shared/tls/index.js';
import { agentRefusalEvent } from '../audit/index.js';
import { answerCertificateRequest } from './certificate-renewal.js';
import { DeltaApplier } from './delta-apply.js';
import type { IngestRegistry } from './ingest-registry.js';

type Call = ServerDuplexStream<AgentMessage, HubMessage>;

export class AgentSession {
  private identity?: PeerIdentity;
  private cluster = '';
  agentName = '';
  role?: 'active' | 'standby' | 'pending';
  private readonly deltas: DeltaApplier;
  private closed = false;
  /** A refusal is being audited; the stream closes once it is recorded. */
  private refused = false;
  private detachCommands?: () => void;
  private detachCertificate?: () => void;
  private certSerial = '';
  private helloTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private readonly silence: SilenceWatch;
  private log: Logger;

  constructor(
    private readonly call: Call,
    private readonly registry: IngestRegistry,
  ) {
    this.log = registry.deps.logger.child({ peer: call.getPeer() });
    this.silence = new SilenceWatch(registry.deps.heartbeatMs, registry.deps.failoverThreshold ?? 3);
    this.deltas = new DeltaApplier(registry, {
      cluster: () => this.cluster,
      log: () => this.log,
      closed: () => this.closed,
      refused: () => this.refused,
      write: (msg) => this.write(msg),
      refuse: (code, details) => this.refuse(code, details),
      fail: (code, details) => this.fail(code, details),
    });
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
    this.silence.heard();
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
        this.deltas.push(body.value);
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
    this.deltas.clear();
    this.registry.active.delete(this.cluster);
    this.detachCommands?.();
    this.detachCommands = undefined;
    const list = this.registry.standby.get(this.cluster) ?? [];
    list.unshift(this);
    this.registry.standby.set(this.cluster, list);
    const record = this.registry.deps.state.cluster(this.cluster);
    this.write({ body: { $case: 'role_change', value: { role: AgentRole.AGENT_ROLE_STANDBY, epoch: record.epoch, seq: record.seq, reason } } });
    this.log.warn({ reason }, 'active agent demoted to standby');
    this.registry.deps.state.setAgentStatus(this.cluster, { connected: record.connected });
  }

  /** Missed more heartbeats than the failover threshold allows. */
  silent(): boolean {
    const { heartbeatMs, failoverThreshold } = this.registry.deps;
    return this.silence.sinceHeard() > (failoverThreshold ?? 3) * heartbeatMs;
  }

  private startHeartbeats(): void {
    const { heartbeatMs, failoverThreshold } = this.registry.deps;
    // Both sides beat; a side silent for failover_threshold beats is gone (a cut network sends no RST).
    this.heartbeatTimer = setInterval(() => {
      // Not this.silent(): after a stall of this hub the agent's messages may be waiting unread.
      if (this.silence.silent()) {
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
    this.write({ body: { $case: 'welcome', value: { epoch: record.epoch, seq: record.seq, hub_id: hubId, heartbeat_interval_ms: heartbeatMs, role: AgentRole.AGENT_ROLE_STANDBY, snapshot_parts: true } } });
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
      this.write({ body: { $case: 'welcome', value: { epoch: record.epoch, seq: record.seq, hub_id: hubId, heartbeat_interval_ms: heartbeatMs, role: AgentRole.AGENT_ROLE_ACTIVE, snapshot_parts: true } } });
    }
    this.log.info({ epoch: record.epoch, seq: record.seq, reason }, promoted ? 'standby agent promoted to active' : 'agent connected');
    state.setAgentStatus(this.cluster, { connected: true, agent: this.agentName });
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
      const next = this.registry.takeStandby(this.cluster);
      if (next) {
        next.activate(`agent ${this.agentName} went away`);
        return;
      }
      const record = this.registry.deps.state.cluster(this.cluster);
      record.connected = false;
      this.registry.deps.state.setAgentStatus(this.cluster, { connected: false });
      this.registry.deps.ownership?.release(this.cluster);
      this.log.info('agent disconnected');
    }
  }
}