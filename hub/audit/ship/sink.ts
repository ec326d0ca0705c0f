// A shipping destination. send() answers which records must be sent again (retryable: network,
// timeout, 429, 5xx) and how many the destination refused for good (other 4xx: retrying would
// not help; the local file still has them).
import type { AuditRecord } from '../record.js';

export interface SendResult {
  retry: AuditRecord[];
  rejected: number;
  /** Why records were refused for good (safe text, for one log line). */
  reason?: string;
}

export interface AuditSink {
  readonly name: string;
  /** Throwing means: retry all of them. */
  send(records: AuditRecord[]): Promise<SendResult>;
}

export class RetryableError extends Error {}

export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
