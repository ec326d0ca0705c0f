// One last-in-first-out stack of everything the hub has opened. Each part registers its close
// right after it opens, so the same stack shuts a running hub down and rolls back a start that
// fails half-way: what opened last closes first (listeners before the stores they write to,
// the etcd lease before the etcd client). A close that throws is logged and the others still
// run; closing twice closes once.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../../shared/errors/index.js';

/** The hub's start stages, in the order they run. */
export type StageName = 'foundations' | 'fleet' | 'region' | 'gate' | 'listeners';

/** A start failed: the stage that failed, the cause's message; everything opened before is closed. */
export class HubStartError extends FleetError {
  constructor(
    readonly stage: StageName,
    override readonly cause: unknown,
  ) {
    super('SF_HUB_START_FAILED', `hub start failed at stage "${stage}": ${cause instanceof Error ? cause.message : String(cause)}`, 500, GrpcStatus.INTERNAL, { stage });
  }
}

interface Entry {
  name: string;
  close: () => void | Promise<void>;
}

export class CloseStack {
  private readonly entries: Entry[] = [];
  private closing?: Promise<void>;

  constructor(private readonly onError: (name: string, err: unknown) => void) {}

  /** Registers close for what just opened; it runs before everything registered earlier. */
  defer(name: string, close: () => void | Promise<void>): void {
    if (this.closing) throw new Error(`cannot register "${name}": the hub is closing`);
    this.entries.push({ name, close });
  }

  /** Runs one stage: on failure closes everything opened so far, then throws a HubStartError naming it. */
  async stage<T>(stage: StageName, open: () => T | Promise<T>): Promise<T> {
    try {
      return await open();
    } catch (err) {
      await this.close();
      throw new HubStartError(stage, err);
    }
  }

  /** Closes everything in reverse order of registration; later calls wait for the first. */
  close(): Promise<void> {
    this.closing ??= this.unwind();
    return this.closing;
  }

  private async unwind(): Promise<void> {
    for (let entry = this.entries.pop(); entry; entry = this.entries.pop()) {
      try {
        await entry.close();
      } catch (err) {
        this.onError(entry.name, err);
      }
    }
  }
}
