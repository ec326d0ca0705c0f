// gRPC FleetService: the same records as REST. Each unary handler is wrapped so the record is
// durable before the callback answers; the watch stream's refusal is held until recorded.
// The service's gate leaves the principal on the call (call.principal) for the wrapper.
import { status as GrpcStatus, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { toGrpcStatus } from '../../shared/errors/index.js';
import type { AuditLog } from './audit-log.js';
import { AuditUnavailableError, AuditWriteError } from './errors.js';
import { outcomeFor } from './http-audit.js';
import type { AuditEvent, AuditOutcome } from './record.js';

type Req = Record<string, unknown>;
interface Described {
  action: string;
  resource?: string;
  cluster?: string;
  mutating?: boolean;
}

const JOB_VERBS = new Set(['cancel', 'hold', 'release', 'requeue']);

/** What each FleetService method does, in the REST API's words. */
export const GRPC_ACTIONS: Record<string, (req: Req) => Described> = {
  listClusters: () => ({ action: 'clusters:read' }),
  listJobs: (r) => ({ action: 'jobs:read', cluster: (r.cluster as string) || undefined }),
  getJob: (r) => ({ action: 'jobs:read', resource: `job ${String(r.cluster)}/${String(r.id)}`, cluster: r.cluster as string }),
  listNodes: (r) => ({ action: 'nodes:read', cluster: (r.cluster as string) || undefined }),
  listPartitions: (r) => ({ action: 'partitions:read', cluster: (r.cluster as string) || undefined }),
  runCommand: (r) => {
    const kind = String(r.kind);
    const noun = JOB_VERBS.has(kind) ? 'job' : 'node';
    return { action: `${noun}s:${kind}`, resource: `${noun} ${String(r.cluster)}/${String(r.target)}`, cluster: r.cluster as string, mutating: true };
  },
  watch: (r) => ({ action: 'watch:read', cluster: (r.cluster as string) || undefined }),
};

const HTTP_OF_GRPC: Partial<Record<GrpcStatus, number>> = {
  [GrpcStatus.OK]: 200,
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.FAILED_PRECONDITION]: 409,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
};

export function grpcOutcome(code: GrpcStatus): { outcome: AuditOutcome; status: number } {
  const status = HTTP_OF_GRPC[code] ?? 500;
  return { outcome: outcomeFor(status), status };
}

type Call = { request: Req; getPeer(): string; metadata?: { get(key: string): unknown[] }; principal?: { name: string; method: string } };

function event(method: string, call: Call, code: GrpcStatus, details?: string): AuditEvent {
  const d = GRPC_ACTIONS[method]?.(call.request ?? {}) ?? { action: `grpc:${method}` };
  const { outcome, status } = grpcOutcome(code);
  return {
    action: d.action,
    resource: d.resource ?? `FleetService/${method}`,
    outcome,
    status,
    reason: code === GrpcStatus.OK ? undefined : details,
    user: call.principal?.name ?? null,
    auth_method: call.principal?.method ?? null,
    source_ip: call.getPeer().replace(/^ipv[46]:/, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
    // The caller's own x-request-id when it sends one (string, sane length), else a new one.
    request_id: requestId(call),
    tenant: d.cluster ? { cluster: d.cluster } : null,
    transport: 'grpc',
    required: !!d.mutating || code === GrpcStatus.UNAUTHENTICATED || code === GrpcStatus.PERMISSION_DENIED,
    request: { method, body: call.request },
  };
}

function requestId(call: Call): string {
  const given = call.metadata?.get('x-request-id')[0];
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}

type Unary = (call: ServerUnaryCall<Req, unknown>, callback: sendUnaryData<unknown>) => unknown;

/** Wraps every method of a FleetService implementation so each call is audited before it answers. */
export function auditGrpcService<S extends object>(service: S, audit: AuditLog): S {
  const out: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(service)) {
    if (method === 'watch') {
      out[method] = (call: ServerWritableStream<Req, unknown>) => {
        const emit = call.emit.bind(call);
        call.emit = ((name: string, ...args: unknown[]) => {
          if (name !== 'error') return emit(name, ...args);
          const err = args[0] as { code: GrpcStatus; details?: string };
          void audit.record(event(method, call as unknown as Call, err.code, err.details)).catch(() => undefined).finally(() => emit(name, ...args));
          return true;
        }) as typeof call.emit;
        return (handler as (c: unknown) => unknown)(call);
      };
      continue;
    }
    out[method] = (call: ServerUnaryCall<Req, unknown>, callback: sendUnaryData<unknown>) => {
      const mutating = !!GRPC_ACTIONS[method]?.(call.request ?? {}).mutating;
      if (mutating && !audit.writable) {
        const s = toGrpcStatus(new AuditUnavailableError());
        callback({ code: s.code, details: s.details, name: 'FleetError', message: s.details });
        return;
      }
      return (handler as Unary)(call, (err, value) => {
        const code = (err?.code as GrpcStatus | undefined) ?? GrpcStatus.OK;
        const e = event(method, call as unknown as Call, code, err?.details ?? (err as { message?: string } | null)?.message);
        audit.record(e).then(
          () => callback(err, value),
          () => {
            if (!e.required) return callback(err, value);
            const s = toGrpcStatus(new AuditWriteError());
            callback({ code: s.code, details: s.details, name: 'FleetError', message: s.details });
          },
        );
      });
    };
  }
  return out as S;
}

/** A call refused before its message was read (api/grpc/pre-read-gate.ts): who, what, why. */
/** Methods whose action or resource comes from the message: unknown when a caller is refused before it is read. */
const DESCRIBED_BY_MESSAGE = new Set(['runCommand', 'getJob']);

export function grpcRefusalEvent(method: string, peer: string, principal: { name: string; method: string } | undefined, code: GrpcStatus, details: string, requestIdGiven?: unknown): AuditEvent {
  const call: Call = { request: {}, getPeer: () => peer, metadata: { get: () => [requestIdGiven] }, ...(principal ? { principal } : {}) };
  const record = event(method, call, code, details);
  // Refused before its message was read (bounded before trusted): say what was called, not a guess at what it was for.
  if (!DESCRIBED_BY_MESSAGE.has(method)) return record;
  return { ...record, action: `grpc:${method}`, resource: `FleetService/${method}`, tenant: null, request: { method } };
}
