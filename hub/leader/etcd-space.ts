// etcd at its backend quota (--quota-backend-bytes) raises the NOSPACE alarm and from then on
// refuses every write that grows it (puts, transactions with puts, lease grants) until an
// operator compacts, defragments and disarms the alarm (README: "etcd out of space"). Reads,
// deletes and lease keep-alives still work, so a leader keeps leading and the hub keeps serving
// reads and ingest; what needs a write (a new token, a user change, a new cluster owner, an
// election) fails. This watch asks etcd's status every few seconds: its `errors` list names the
// raised alarms, and the status call needs no etcd user rights (an alarm GET goes through raft).
// The alarm is a metric and a /healthz reason; the refused writes say the cause (noSpaceMessage).
import type { Etcd3 } from 'etcd3';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../shared/logging/index.js';

/** etcd's answer to a write while the alarm is raised ("etcdserver: mvcc: database space exceeded"). */
export function isEtcdNoSpace(err: unknown): boolean {
  return /database space exceeded|alarm:NOSPACE/i.test(String((err as Error | undefined)?.message ?? err));
}

/** What a refused write says to the user when etcd is out of space. */
export const NO_SPACE_MESSAGE = 'etcd is out of space (NOSPACE alarm): it refuses writes until an operator compacts, defragments and disarms it (README: "etcd out of space"); reads go on';

export interface EtcdSpaceState {
  /** true while etcd reports the NOSPACE alarm; undefined before the first answer or while etcd does not answer. */
  noSpace?: boolean;
  /** The physically allocated size of the answering member's database, in bytes. */
  dbBytes?: number;
}

export class EtcdSpaceWatch {
  readonly state: EtcdSpaceState = {};
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;

  constructor(
    private readonly client: Pick<Etcd3, 'maintenance'>,
    private readonly log: Logger,
    private readonly intervalMs = 3_000,
  ) {}

  start(): this {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** One status call (one at a time); a failure leaves noSpace unknown (etcd unreachable is the leadership's to report). */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    let noSpace: boolean | undefined;
    try {
      const status = await this.client.maintenance.status({});
      this.state.dbBytes = Number(status.dbSize);
      noSpace = (status.errors ?? []).some((e) => /NOSPACE/.test(e));
    } catch {
      noSpace = undefined;
    }
    const was = this.state.noSpace;
    this.state.noSpace = noSpace;
    if (noSpace === true && was !== true) this.log.error({ db_bytes: this.state.dbBytes }, `${NO_SPACE_MESSAGE}. Tokens, users, elections and new cluster owners cannot be written`);
    if (noSpace === false && was === true) this.log.info({ db_bytes: this.state.dbBytes }, 'etcd NOSPACE alarm cleared: writes work again');
  }

  /** For /healthz: what is wrong, undefined when nothing (or not known). */
  problem(): string | undefined {
    return this.state.noSpace ? `${NO_SPACE_MESSAGE}${this.state.dbBytes ? ` (database ${this.state.dbBytes} bytes)` : ''}` : undefined;
  }

  registerMetrics(registry: Registry): void {
    const state = this.state;
    new Gauge({
      name: 'sfleet_hub_etcd_nospace',
      help: "1 while etcd reports the NOSPACE alarm (at its backend quota: writes refused), 0 when not, -1 not known (etcd does not answer)",
      registers: [registry],
      collect() {
        this.set(state.noSpace === undefined ? -1 : state.noSpace ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sfleet_hub_etcd_db_bytes',
      help: "Size of etcd's backend database (the answering member, physically allocated), in bytes; compare with its --quota-backend-bytes",
      registers: [registry],
      collect() {
        if (state.dbBytes !== undefined) this.set(state.dbBytes);
      },
    });
  }
}
