// The ticket a ticketing channel opened for a group episode (ServiceNow's sys_id, Jira's issue
// key), by channel and dedup_key. Kept with the alerting state (store.ts), so repeats, the
// acknowledgement and the resolve update the same ticket after a restart or a failover.
export interface TicketRefs {
  get(channel: string, dedupKey: string): string | undefined;
  set(channel: string, dedupKey: string, ref: string): void;
  /** The episode is over (resolved): nothing will update the ticket again. */
  delete(channel: string, dedupKey: string): void;
}

export class TicketBook implements TicketRefs {
  /** `onChange` persists (the alerting state is written whole). */
  constructor(private readonly refs: Record<string, string> = {}, private readonly onChange: () => void = () => undefined) {}

  get(channel: string, dedupKey: string): string | undefined {
    return this.refs[key(channel, dedupKey)];
  }

  set(channel: string, dedupKey: string, ref: string): void {
    this.refs[key(channel, dedupKey)] = ref;
    this.onChange();
  }

  delete(channel: string, dedupKey: string): void {
    if (!(key(channel, dedupKey) in this.refs)) return;
    delete this.refs[key(channel, dedupKey)];
    this.onChange();
  }

  /** A hub group's new leader: the region's tickets replace what this hub knew. */
  replace(refs: Record<string, string>): void {
    for (const k of Object.keys(this.refs)) delete this.refs[k];
    Object.assign(this.refs, refs);
  }

  toJSON(): Record<string, string> {
    return { ...this.refs };
  }
}

// Channel names hold no ':'.
const key = (channel: string, dedupKey: string) => `${channel}:${dedupKey}`;
