// The one place each transport renders an error: toProblem() for HTTP, toGrpcStatus() for gRPC.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError, InternalError } from './fleet-error.js';

/** The content type of every error answer over HTTP (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extra: string]: unknown;
}

export function toProblem(err: unknown, instance?: string): Problem {
  const fe = asFleetError(err);
  // The detail fields first: none of them may replace the status the response is sent with.
  return {
    ...(fe.detail ?? {}),
    type: `https://slurmfleet.dev/errors/${fe.code}`,
    title: fe.name,
    status: fe.httpStatus,
    detail: fe.message,
    code: fe.code,
    ...(instance ? { instance } : {}),
  };
}

export function toGrpcStatus(err: unknown): { code: GrpcStatus; details: string } {
  const fe = asFleetError(err);
  return { code: fe.grpcCode, details: `${fe.code}: ${fe.message}` };
}

/** Anything that is not a FleetError becomes an opaque internal error: its text may hold secrets. */
export function asFleetError(err: unknown): FleetError {
  if (err instanceof FleetError) return err;
  return new InternalError();
}
