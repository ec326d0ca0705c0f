// A hub group's delivery log and alert history, the region's and not one hub's: the leader writes
// the newest deliveries and resolved timelines to a second fenced document in Redis (next to the
// alerting state, under the same fence, so a deposed leader's write is refused), and every hub
// merges it into its own log and history when it reads the region's state. So GET
// /api/v1/alerts/deliveries and /history answer the same on any hub, including what an earlier
// leader sent. Deliveries a hub makes while the group has no leader (headless.ts) stay in its own log.
import { FencedOffError } from '../leader/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { FencedDocument } from '../replication/index.js';
import type { AlertHistory } from './history.js';
import type { DeliveryRecord } from './notify/index.js';

/** Deliveries kept in the shared document (the newest). */
export const SHARED_DELIVERIES = 2_000;

export interface SharedLogContent {
  version: 1;
  deliveries: DeliveryRecord[];
  history: AlertHistory[];
}

export class SharedAlertingLog {
  private written = '';
  private writing?: Promise<void>;
  private lastRead?: string;

  constructor(private readonly doc: FencedDocument, private readonly logger: Logger) {}

  /** The leader: writes the content when `version` (the log's and history's change counters) moved since the last write. */
  write(token: number, version: string, content: () => Omit<SharedLogContent, 'version'>): void {
    if (version === this.written || this.writing) return;
    const text = JSON.stringify({ version: 1, ...content() });
    this.writing = this.doc
      .put(token, text)
      .then(
        () => void (this.written = version),
        (err: Error) => {
          if (err instanceof FencedOffError || (err as { code?: string }).code === 'SF_LEADER_FENCED') return;
          this.logger.warn({ err: err.message }, 'alerting: could not write the region\'s delivery log and history (retried at the next change)');
        },
      )
      .finally(() => (this.writing = undefined));
  }

  /** Every hub: the region's deliveries and history as the leader last wrote them; undefined when unchanged since the last read. */
  async read(): Promise<SharedLogContent | undefined> {
    const text = await this.doc.get();
    if (!text || text === this.lastRead) return undefined;
    this.lastRead = text;
    try {
      const c = JSON.parse(text) as Partial<SharedLogContent>;
      return { version: 1, deliveries: Array.isArray(c.deliveries) ? c.deliveries : [], history: Array.isArray(c.history) ? c.history : [] };
    } catch {
      return undefined; // a damaged document: the leader's next write replaces it
    }
  }
}
