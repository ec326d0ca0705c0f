import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError, UnavailableError } from '../../shared/errors/index.js';

export interface QuotaRefusal {
  scope: 'tenant' | 'account' | 'user';
  subject: string;
  limit: string;
  value: number;
  usage: number;
  reserved: number;
  request: number;
}

/** QuotaRefusal as the OpenAPI document gives it (the Problem's `quota`), so clients such as the dashboard get the type from the generated client. */
export const QUOTA_REFUSAL_SCHEMA = {
  type: 'object',
  description: 'SF_QUOTA_EXCEEDED: which limit refused the submit, what is in use and reserved, and what the job asked for',
  required: ['scope', 'subject', 'limit', 'value', 'usage', 'reserved', 'request'],
  properties: {
    scope: { type: 'string', enum: ['tenant', 'account', 'user'] },
    subject: { type: 'string', description: 'The tenant, account or user the limit belongs to' },
    limit: { type: 'string', description: 'The limit, e.g. max_gpus' },
    value: { type: 'number', description: 'The limit\'s value' },
    usage: { type: 'number' },
    reserved: { type: 'number', description: 'Held by submits in flight' },
    request: { type: 'number', description: 'What this job asks for' },
  },
} as const satisfies { [key: string]: unknown; required: readonly (keyof QuotaRefusal)[]; properties: Record<keyof QuotaRefusal, object> };

/** Admission refused a submit: the detail names the limit, what is used (and reserved) and what was asked. */
export class QuotaExceededError extends FleetError {
  constructor(r: QuotaRefusal) {
    super(
      'SF_QUOTA_EXCEEDED',
      `${r.scope} ${r.subject}: ${r.limit} is ${r.value}, ${r.usage} in use${r.reserved ? ` and ${r.reserved} reserved by submits in flight` : ''}, this job asks for ${r.request}`,
      409,
      GrpcStatus.RESOURCE_EXHAUSTED,
      { quota: r },
    );
  }
}

/** A hub group admits only through the region's etcd: while it cannot be reached (or this hub is not a live member), submits are refused, not admitted unchecked. */
export class AdmissionUnavailableError extends UnavailableError {
  constructor(message: string) {
    super('SF_QUOTA_ADMISSION_UNAVAILABLE', message);
  }
}
