import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { KeyServiceError } from '../crypto/index.js';
import { BadRequestError, SlurmUnavailableError, toGrpcStatus, toProblem } from './index.js';

describe('toProblem', () => {
  it('sends the hub status, with an upstream service status shown as upstream_status', () => {
    // Vault refused the hub's token: the client gets a 503, not Vault's 403.
    const vault = toProblem(new KeyServiceError('vault encrypt/sfleet: 403 permission denied', 403), '/api/v1/tokens');
    expect(vault).toMatchObject({ status: 503, code: 'SF_CRYPTO_KEY_SERVICE', upstream_status: 403, instance: '/api/v1/tokens' });
    const slurm = toProblem(new SlurmUnavailableError('slurmrestd refused our credentials (HTTP 401)', 401));
    expect(slurm).toMatchObject({ status: 502, code: 'SF_SLURM_UNAVAILABLE', upstream_status: 401 });
    expect(toProblem(new SlurmUnavailableError('slurmrestd did not answer'))).not.toHaveProperty('upstream_status');
  });

  it('keeps the detail fields of an error beside the standard ones', () => {
    const problem = toProblem(new BadRequestError('bad filter', { field: 'state' }));
    expect(problem).toMatchObject({ status: 400, code: 'SF_API_BAD_REQUEST', detail: 'bad filter', field: 'state' });
  });

  it('hides what is not a FleetError', () => {
    const secret = new Error('connect to postgres://admin:hunter2@db failed');
    expect(toProblem(secret)).toMatchObject({ status: 500, code: 'SF_INTERNAL', detail: 'internal error' });
    expect(toGrpcStatus(secret)).toEqual({ code: GrpcStatus.INTERNAL, details: 'SF_INTERNAL: internal error' });
  });
});

describe('upstream errors', () => {
  it('keep the upstream HTTP status for callers that retry or explain', () => {
    expect(new KeyServiceError('vault: 503', 503).status).toBe(503);
    expect(toGrpcStatus(new SlurmUnavailableError('down', 500))).toEqual({ code: GrpcStatus.UNAVAILABLE, details: 'SF_SLURM_UNAVAILABLE: down' });
  });
});
