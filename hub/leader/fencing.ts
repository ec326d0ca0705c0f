// Fencing: every side effect of a singleton carries the leader's fencing token (the revision
// at which its election key was created). A store that holds shared state refuses a token
// older than one it has seen, so a deposed leader's late write cannot land.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../../shared/errors/index.js';

/** A write of a deposed leader (or of one that never led) was refused. */
export class FencedOffError extends FleetError {
  constructor(message: string, detail?: Record<string, unknown>) {
    super('SF_LEADER_FENCED', message, 409, GrpcStatus.FAILED_PRECONDITION, detail);
  }
}

/**
 * A store that takes fenced writes. The new leader claims each one before its singletons
 * start, so a stale leader is refused even before the new one has written anything.
 */
export interface FenceTarget {
  readonly name: string;
  /** Raises the store's fence to token (never lowers it); throws FencedOffError when it is higher. */
  claim(token: number): Promise<void>;
}

/** What a singleton gets while its hub leads; everything it does should go through it. */
export interface LeaderContext {
  readonly region: string;
  readonly hubId: string;
  /** The fencing token: pass it to every fenced write. */
  readonly token: number;
  /** Aborted the moment this hub stops leading (deposed, lease lost, shutdown). */
  readonly signal: AbortSignal;
  /** Throws FencedOffError unless this hub still leads with this token (a local check). */
  assertLeading(): void;
  /** Compare-and-swap put of a singleton's own key in the coordination store (etcd in
   * clustered mode: only while the election key still has this token's revision). */
  put(key: string, value: string): Promise<void>;
  /** The value put() stored, if any. */
  get(key: string): Promise<string | undefined>;
}
