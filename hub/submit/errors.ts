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
