// FleetError and the general errors every part throws; each class has one fixed code.
import { status as GrpcStatus } from '@grpc/grpc-js';

export abstract class FleetError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly grpcCode: GrpcStatus;
  readonly detail?: Record<string, unknown>;

  constructor(code: string, message: string, httpStatus: number, grpcCode: GrpcStatus, detail?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = httpStatus;
    this.grpcCode = grpcCode;
    this.detail = detail;
  }
}

export class BadRequestError extends FleetError {
  constructor(message: string, detail?: Record<string, unknown>) {
    super('SF_API_BAD_REQUEST', message, 400, GrpcStatus.INVALID_ARGUMENT, detail);
  }
}

export class UnauthenticatedError extends FleetError {
  constructor(message = 'authentication required: present a client certificate or a bearer token') {
    super('SF_AUTH_UNAUTHENTICATED', message, 401, GrpcStatus.UNAUTHENTICATED);
  }
}

export class ForbiddenError extends FleetError {
  constructor(message: string) {
    super('SF_AUTH_FORBIDDEN', message, 403, GrpcStatus.PERMISSION_DENIED);
  }
}

export class NotFoundError extends FleetError {
  constructor(message: string) {
    super('SF_API_NOT_FOUND', message, 404, GrpcStatus.NOT_FOUND);
  }
}

export class ConflictError extends FleetError {
  constructor(message: string) {
    super('SF_API_CONFLICT', message, 409, GrpcStatus.FAILED_PRECONDITION);
  }
}

/** A part the request needs (an agent, a directory, a shared store) cannot be reached now: 503, UNAVAILABLE. */
export abstract class UnavailableError extends FleetError {
  constructor(code: string, message: string) {
    super(code, message, 503, GrpcStatus.UNAVAILABLE);
  }
}

/** Slurm answered, but not with what we can use (bad JSON, wrong shape, error list). */
export class SlurmResponseError extends FleetError {
  constructor(message: string, detail?: Record<string, unknown>) {
    super('SF_SLURM_BAD_RESPONSE', message, 502, GrpcStatus.UNAVAILABLE, detail);
  }
}

/**
 * A service we call (slurmrestd, Vault) failed. status is its HTTP answer when it gave one; the
 * problem shows it as upstream_status, never as our own status (a Vault 403 is not the client's).
 */
export abstract class UpstreamError extends FleetError {
  readonly status?: number;
  constructor(code: string, message: string, httpStatus: number, grpcCode: GrpcStatus, status?: number) {
    super(code, message, httpStatus, grpcCode, status ? { upstream_status: status } : undefined);
    this.status = status;
  }
}

/** Slurm could not be reached or refused us (connection, auth, HTTP status). */
export class SlurmUnavailableError extends UpstreamError {
  constructor(message: string, status?: number) {
    super('SF_SLURM_UNAVAILABLE', message, 502, GrpcStatus.UNAVAILABLE, status);
  }
}

export class ConfigError extends FleetError {
  constructor(message: string) {
    super('SF_CONFIG_INVALID', message, 500, GrpcStatus.INTERNAL);
  }
}

/** Whatever went wrong that is not a FleetError: its text is never shown (it may hold secrets). */
export class InternalError extends FleetError {
  constructor() {
    super('SF_INTERNAL', 'internal error', 500, GrpcStatus.INTERNAL);
  }
}
