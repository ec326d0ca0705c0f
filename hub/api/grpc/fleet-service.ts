// FleetService: the gRPC twin of /api/v1, behind the same gate and the same queries.
import type { Metadata, sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { FleetServiceServer, WatchEvent as WatchEventMsg, WatchRequest } from '../../../generated/fleet/v1/fleet.js';
import { NotFoundError, toGrpcStatus } from '../../../shared/errors/index.js';
import { KINDS, wrapObject, type KindName } from '../../../shared/model/index.js';
import type { CommandRouter } from '../../commands/index.js';
import { queryJobs, queryNodes, queryPartitions, type FleetState } from '../../fleet/index.js';
import { auditGrpcService, type AuditLog } from '../../audit/index.js';
import type { Authenticator, Principal } from '../../policy/index.js';
import type { WatchFeed } from '../../watch/index.js';
import { clusterStatuses } from '../cluster-status.js';

export interface FleetServiceDeps {
  state: FleetState;
  commands: CommandRouter;
  watch: WatchFeed;
  authenticator: Authenticator;
  audit?: AuditLog;
}

type AnyCall = { getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } }; metadata: Metadata };

async function gate(deps: FleetServiceDeps, call: AnyCall): Promise<Principal> {
  const auth = call.metadata.get('authorization')[0];
  const principal = await deps.authenticator.authenticate({
    authorization: typeof auth === 'string' ? auth : undefined,
    peerSubjectAltName: call.getAuthContext()?.sslPeerCertificate?.subjectaltname ?? '',
  });
  // For the audit wrapper (auditGrpcService): who made the call.
  (call as AnyCall & { principal?: Principal }).principal = principal;
  return principal;
}

function unary<Req, Res>(deps: FleetServiceDeps, fn: (req: Req, principal: Principal) => Promise<Res> | Res) {
  return async (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): Promise<void> => {
    try {
      const principal = await gate(deps, call as unknown as AnyCall);
      callback(null, await fn(call.request, principal));
    } catch (err) {
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
  return {
    listClusters: unary(deps, () => ({
      clusters: clusterStatuses(state).map((c) => ({
        name: c.name,
        connected: c.connected,
        epoch: c.epoch,
        seq: c.seq,
        last_delta_at: c.last_delta_at ?? '',
        agent: c.agent ?? '',
        jobs: c.jobs,
        nodes: c.nodes,
        slurm_api_version: c.slurm_api_version,
        stale: !c.connected,
      })),
    })),
    listJobs: unary(deps, (req) => {
      const page = queryJobs(state, { cluster: req.cluster, state: req.state, user: req.user, account: req.account, partition: req.partition, node: req.node }, req.limit, req.cursor || undefined);
      return { jobs: page.items, next_cursor: page.next_cursor ?? '' };
    }),
    getJob: unary(deps, (req) => {
      const job = state.job(req.cluster, String(req.id));
      if (!job) throw new NotFoundError(`job ${req.cluster}/${req.id} not found`);
      return job;
    }),
    listNodes: unary(deps, (req) => {
      const page = queryNodes(state, { cluster: req.cluster, state: req.state, partition: req.partition }, req.limit, req.cursor || undefined);
      return { nodes: page.items, next_cursor: page.next_cursor ?? '' };
    }),
    listPartitions: unary(deps, (req) => ({ partitions: queryPartitions(state, req.cluster) })),
    runCommand: unary(deps, async (req, principal) => {
      const result = await commands.run(req.cluster, req.kind, req.target, req.reason, principal.name);
      return { ok: result.ok, message: result.message, via: result.via };
    }),
    watch: async (call: ServerWritableStream<WatchRequest, WatchEventMsg>) => {
      try {
        await gate(deps, call as unknown as AnyCall);
      } catch (err) {
        const s = toGrpcStatus(err);
        call.emit('error', { code: s.code, details: s.details });
        return;
      }
      const req = call.request;
      const kinds = req.kinds ? new Set(req.kinds.split(',').map((k) => k.trim()).filter((k): k is KindName => (KINDS as readonly string[]).includes(k))) : undefined;
      const unsubscribe = watch.subscribe({ cluster: req.cluster || undefined, kinds }, req.since ? `${watch.lastId.split('-')[0]}-${req.since}` : undefined, (event) => {
        call.write({
          id: event.seq,
          type: event.type,
          kind: event.kind ?? '',
          cluster: event.cluster ?? '',
          object_id: event.object_id ?? '',
          object: event.object && event.kind ? wrapObject(event.kind, event.object as never) : undefined,
        });
      });
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
    },
  };
}
