// FleetService: the gRPC twin of /api/v1, behind the same gate and the same queries.
import type { Metadata, sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { FleetServiceServer, WatchEvent as WatchEventMsg, WatchRequest } from '../../../generated/fleet/v1/fleet.js';
import { BadRequestError, toGrpcStatus } from '../../../shared/errors/index.js';
import { KINDS, wrapObject, type KindName } from '../../../shared/model/index.js';
import { JOB_COMMANDS, NODE_COMMANDS, type CommandName, type CommandRouter } from '../../commands/index.js';
import { clusterFreshness, NONE_STALE, type FleetState, type StaleClusters } from '../../fleet/index.js';
import { Visibility, Rbac, TENANT_HEADER, type Authenticator, type Principal } from '../../policy/index.js';
import { credentialExpiry, deliveryTrace, scopeChanged, SharedFrames, watchScope, watchVisibility, WatchQueue, type WatchBudget, type WatchEvent, type WatchFeed, type WatchSlot } from '../../watch/index.js';
import { checkCommandTarget, visibleClusterStatuses, visibleJob, visibleJobs, visibleNodes, visiblePartitions } from '../visible-queries.js';
import { auditGrpcService, type AuditLog } from '../../audit/index.js';
import type { Tracing } from '../../../shared/tracing/index.js';

export interface FleetServiceDeps {
  state: FleetState;
  commands: CommandRouter;
  watch: WatchFeed;
  authenticator: Authenticator;
  /** The RBAC policy; absent: the default (every authenticated caller is an admin). */
  rbac?: Rbac;
  audit?: AuditLog;
  /** Clustered: the clusters this hub cannot vouch for now (replication); standalone: none. */
  stale?: () => StaleClusters;
  /** hub.yaml's `clusters:` map: listed (not connected) before an agent streams for them. */
  declared?: readonly string[];
  /** Caps on open watches and their re-checks; absent: unbounded (unit tests). */
  watchBudget?: WatchBudget;
  /** Per-tenant API rate limits, as on REST: rejects (RESOURCE_EXHAUSTED) when the caller's tenant has no token left. */
  admitTenant?: (tenant: string) => void | Promise<void>;
  /** Connections held after a tenant rate refusal (hub/tenant-rate/peer-holds.ts): a call waits out its connection's hold before the gate. */
  holds?: { wait(peer: string): Promise<void>; refused(peer: string, err: unknown): void };
  /** Watch delivery spans (linked to the apply that caused them); absent or off: none. */
  tracing?: Tracing;
}

type AnyCall = { getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string; serialNumber?: string } }; metadata: Metadata };
/**
 * The permission each FleetService method needs (RunCommand: the command's own, jobs:<kind> or
 * nodes:<kind>, checked in the method). A method missing here fails fleet-service.test.ts.
 */
export const GRPC_PERMISSIONS = {
  listClusters: 'cluster:read',
  listJobs: 'jobs:read',
  getJob: 'jobs:read',
  listNodes: 'nodes:read',
  listPartitions: 'cluster:read',
  runCommand: 'auth:self',
  watch: 'watch:read',
} as const satisfies Record<keyof FleetServiceServer, string>;


/** Authentication, then the method's permission: what the REST gate does for a route. */
async function gate(deps: FleetServiceDeps, rbac: Rbac, call: AnyCall, method: keyof typeof GRPC_PERMISSIONS): Promise<Visibility> {
  const auth = call.metadata.get('authorization')[0];
  const principal = await deps.authenticator.authenticate({
    authorization: typeof auth === 'string' ? auth : undefined,
    peerSubjectAltName: call.getAuthContext()?.sslPeerCertificate?.subjectaltname ?? '',
    peerCertificateSerial: call.getAuthContext()?.sslPeerCertificate?.serialNumber,
  });
  // For the audit wrapper (auditGrpcService): who made the call.
  (call as AnyCall & { principal?: Principal }).principal = principal;
  const tenant = call.metadata.get(TENANT_HEADER)[0];
  const visibility = new Visibility(rbac, principal, undefined, typeof tenant === 'string' ? tenant : undefined);
  visibility.authorize(GRPC_PERMISSIONS[method]);
  if (visibility.tenant?.name) await deps.admitTenant?.(visibility.tenant.name);
  return visibility;
}

function unary<Req, Res>(deps: FleetServiceDeps, rbac: Rbac, method: keyof typeof GRPC_PERMISSIONS, fn: (req: Req, visibility: Visibility) => Promise<Res> | Res) {
  return async (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): Promise<void> => {
    const peer = deps.holds ? call.getPeer() : '';
    try {
      await deps.holds?.wait(peer);
      const visibility = await gate(deps, rbac, call as unknown as AnyCall, method);
      callback(null, await fn(call.request, visibility));
    } catch (err) {
      deps.holds?.refused(peer, err);
      const s = toGrpcStatus(err);
      callback({ code: s.code, details: s.details, name: 'FleetError', message: s.details });
    }
  };
}

export function fleetService(deps: FleetServiceDeps): FleetServiceServer {
  const service = fleetServiceUnaudited(deps);
  return deps.audit ? auditGrpcService(service, deps.audit) : service;
}

function fleetServiceUnaudited(deps: FleetServiceDeps): FleetServiceServer {
  const { state, commands, watch } = deps;
  const rbac = deps.rbac ?? new Rbac(undefined);
  // Each watch event with its counted size, made once for all gRPC watchers (queued by reference).
  const sized = new SharedFrames<{ event: WatchEvent; size: number }>();
  return {
    listClusters: unary(deps, rbac, 'listClusters', (_req, visibility) => {
      const stale = deps.stale?.() ?? NONE_STALE;
      return {
        clusters: visibleClusterStatuses(state, visibility, undefined, deps.declared).map((c) => ({
          name: c.name,
          connected: c.connected,
          epoch: c.epoch,
          seq: c.seq,
          last_delta_at: c.last_delta_at ?? '',
          agent: c.agent ?? '',
          jobs: c.jobs,
          nodes: c.nodes,
          slurm_api_version: c.slurm_api_version,
          stale: clusterFreshness(stale, c.name).stale,
        })),
      };
    }),
    listJobs: unary(deps, rbac, 'listJobs', (req, visibility) => {
      const page = visibleJobs(state, visibility, { cluster: req.cluster, state: req.state, user: req.user, account: req.account, partition: req.partition, node: req.node }, req.limit, req.cursor || undefined);
      return { jobs: page.items, next_cursor: page.next_cursor ?? '' };
    }),
    getJob: unary(deps, rbac, 'getJob', (req, visibility) => visibleJob(state, visibility, req.cluster, String(req.id))),
    listNodes: unary(deps, rbac, 'listNodes', (req, visibility) => {
      const page = visibleNodes(state, visibility, { cluster: req.cluster, state: req.state, partition: req.partition }, req.limit, req.cursor || undefined);
      return { nodes: page.items, next_cursor: page.next_cursor ?? '' };
    }),
    listPartitions: unary(deps, rbac, 'listPartitions', (req, visibility) => ({ partitions: visiblePartitions(state, visibility, req.cluster) })),
    runCommand: unary(deps, rbac, 'runCommand', async (req, visibility) => {
      const resource = JOB_COMMANDS.includes(req.kind as CommandName) ? 'jobs' : NODE_COMMANDS.includes(req.kind as CommandName) ? 'nodes' : undefined;
      if (!resource) throw new BadRequestError(`unknown command "${req.kind}"; known: ${[...JOB_COMMANDS, ...NODE_COMMANDS].join(', ')}`);
      visibility.authorize(`${resource}:${req.kind}`);
      checkCommandTarget(state, visibility, resource, req.kind, req.cluster, req.target);
      const result = await commands.run(req.cluster, req.kind, req.target, req.reason, visibility.principal.name);
      return { ok: result.ok, message: result.message, via: result.via };
    }),
    watch: async (call: ServerWritableStream<WatchRequest, WatchEventMsg>) => {
      let visibility: Visibility;
      const peer = deps.holds ? call.getPeer() : '';
      try {
        await deps.holds?.wait(peer);
        visibility = await gate(deps, rbac, call as unknown as AnyCall, 'watch');
      } catch (err) {
        deps.holds?.refused(peer, err);
        const s = toGrpcStatus(err);
        call.emit('error', { code: s.code, details: s.details });
        return;
      }
      const req = call.request;
      let sent = req.since ? String(req.since) : String(watch.lastSeq);
      let unsubscribe = (): void => undefined;
      let slot: WatchSlot | undefined;
      const scope = watchScope(visibility);
      // Messages the call has not taken wait here (shared events, serialized only when handed
      // over); grpc-js is handed them only while its stream takes them (write() says so).
      let inflight = 0;
      const queue = new WatchQueue<{ event: WatchEvent; size: number }>(
        (item) => item.size,
        ({ event, size }) => {
          sent = String(event.seq);
          inflight += size;
          return call.write({
            id: event.seq,
            type: event.type,
            kind: event.kind ?? '',
            cluster: event.cluster ?? '',
            object_id: event.object_id ?? '',
            object: event.object && event.kind ? wrapObject(event.kind, event.object as never) : undefined,
          }, () => {
            inflight -= size;
          });
        },
      );
      try {
        slot = deps.watchBudget?.open(`${visibility.principal.method}:${visibility.principal.name}`, {
          ...credentialExpiry(visibility.principal),
          lastEventId: () => sent,
          backlog: () => {
            // A safety net: should a drain be missed, what waits is handed over at the next check.
            if (queue.length && !call.writableNeedDrain) setImmediate(pump);
            return queue.bytes + inflight;
          },
          recheck: async () => {
            if (watchScope(await gate(deps, rbac, call as unknown as AnyCall, 'watch')) !== scope) throw scopeChanged();
          },
          end: (err) => {
            unsubscribe();
            queue.clear();
            const s = toGrpcStatus(err);
            call.emit('error', { code: s.code, details: s.details });
          },
        });
      } catch (err) {
        const s = toGrpcStatus(err);
        call.emit('error', { code: s.code, details: s.details });
        return;
      }
      const traced = deliveryTrace(deps.tracing, { transport: 'grpc', watcher: `${visibility.principal.method}:${visibility.principal.name}` });
      const kinds = req.kinds ? new Set(req.kinds.split(',').map((k) => k.trim()).filter((k): k is KindName => (KINDS as readonly string[]).includes(k))) : undefined;
      const tenant = visibility.tenant?.name ?? '';
      const pump = (): void => {
        if (slot && !slot.open) return;
        queue.pump();
        slot?.setQueued(queue.bytes + inflight);
      };
      call.on('drain', pump);
      unsubscribe = watch.subscribe({ cluster: req.cluster || undefined, kinds, visible: watchVisibility(visibility) }, req.since ? watch.localId(req.since) : undefined, (event) => {
        if (slot && !slot.open) return;
        // grpc-js queues objects, not bytes: each message counts its JSON size (made once per event for all watchers).
        // Keyed by the view too: a tenant's events carry its own view of the object (tenantView).
        // By number: the id differs by the watcher's scope, the message (seq, object) does not.
        queue.push(sized.get(String(event.seq), `${event.type}|${tenant}`, () => ({ event, size: event.object ? JSON.stringify(event.object).length + 64 : 64 })));
        traced.delivered(event);
        // Handed over at once while the call takes messages (grpc-js writes each on its own anyway).
        if (call.writableNeedDrain) slot?.setQueued(queue.bytes + inflight);
        else pump();
      });
      const done = (): void => {
        unsubscribe();
        queue.clear();
        slot?.close();
      };
      call.on('cancelled', done);
      call.on('close', done);
    },
  };
}
