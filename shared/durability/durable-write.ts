// The small files a hub rewrites whole (tokens, users, sessions): a write that fails is counted
// and makes the store degraded until a write works again, and the caller gets one clear error
// (503: nothing was changed, try again later) instead of a bare ENOSPC or EROFS as a 500.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../errors/index.js';
import { errorCode, type WriteFaults } from './write-faults.js';

/** A durable file of the hub could not be written: the change was not made. */
export class DurableWriteError extends FleetError {
  constructor(store: string, code: string) {
    super('SF_STORAGE_UNWRITABLE', `${store}: the hub cannot write its data directory (${code}); nothing was changed, try again once the disk is fixed`, 503, GrpcStatus.UNAVAILABLE, { store, code });
  }
}

/** Runs `write` for `store`: ok() on success; failed() and a DurableWriteError on failure. */
export function durableWrite<T>(faults: WriteFaults | undefined, store: string, write: () => T): T {
  let result: T;
  try {
    result = write();
  } catch (err) {
    faults?.failed(store, err);
    throw new DurableWriteError(store, errorCode(err));
  }
  faults?.ok(store);
  return result;
}
