// What a hub group adds to alerting beyond the shared state (store.ts):
//  - one ack-link key for the whole group, kept in the group's security store (etcd, sealed), so a
//    link signed by any hub is accepted by any hub; used links stay single-use across the group
//    because their nonces are part of the region's alerting state;
//  - a relay to the leader: only the leader changes alert state, so an ack link or a PagerDuty
//    webhook that reaches a follower is passed to the leader as it came (the same signed body,
//    signature header and token) and the leader's answer goes back. PagerDuty's one URL (a load
//    balancer over the group) works on any hub.
import { randomBytes } from 'node:crypto';
import { UnavailableError } from '../../shared/errors/index.js';
import type { TlsMaterial } from '../../shared/tls/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { postToPeer } from '../peers/index.js';
import type { SecurityStore } from '../security-store/index.js';
import type { AckLinks } from './ack-link.js';

/** Set on a request one hub relays to the leader: the receiver does not relay it again. */
export const RELAYED_BY_HEADER = 'x-sfleet-relayed-by';
const GROUP_KEY = 'ack-link-key';
const MAX_ANSWER = 1024 * 1024;

/** The leader cannot be reached (none elected, or it does not answer): the sender should try again later. */
export class AlertingLeaderUnavailableError extends UnavailableError {
  constructor(message: string) {
    super('SF_ALERTING_LEADER_UNAVAILABLE', message);
  }
}

export interface RelayAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface LeaderRelay {
  /** Sends the request to the region's leader; answers what the leader answered. */
  forward(path: string, headers: Record<string, string>, body: Buffer): Promise<RelayAnswer>;
}

/**
 * Uses the group's ack-link key: read from the security store, or (`create`: a hub that sends
 * notifications) made there once (compare-and-set: two hubs starting together agree on one). Until
 * it is known (etcd unreachable at start) the hub's own key signs, and links of either key are accepted.
 */
export function shareAckLinkKey(links: AckLinks, store: SecurityStore, logger: Logger, opts: { create: boolean } = { create: true }): void {
  const adopt = (): boolean => {
    const key = store.get<string>('alerting', GROUP_KEY);
    if (typeof key === 'string' && key.length >= 32) links.useGroupKey(Buffer.from(key, 'base64'));
    return typeof key === 'string';
  };
  store.onChange('alerting', (k) => void (k === GROUP_KEY && adopt()));
  if (adopt() || !opts.create) return;
  const make = (): void => {
    store
      .update<string>('alerting', GROUP_KEY, (current) => current ?? randomBytes(32).toString('base64'))
      .then(() => adopt())
      .catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'alerting: cannot store the group\'s ack-link key yet (links this hub signs meanwhile work here only); retrying');
        setTimeout(make, 5_000).unref();
      });
  };
  make();
}

export interface HttpsRelayDeps {
  hubId: string;
  /** hub_id of the region's leader now, or null. */
  leader: () => string | null;
  members: () => Promise<{ items: { hub_id: string; http_url: string }[] }>;
  /** This hub's certificate and the fleet CA (the leader's certificate is checked against it). */
  tls: TlsMaterial;
  timeoutMs: number;
}

/** The relay over the hubs' HTTPS API (the leader's URL from the membership list). */
export class HttpsLeaderRelay implements LeaderRelay {
  constructor(private readonly deps: HttpsRelayDeps) {}

  async forward(path: string, headers: Record<string, string>, body: Buffer): Promise<RelayAnswer> {
    const leader = this.deps.leader();
    if (!leader) throw new AlertingLeaderUnavailableError('the hub group has no leader now: alert state changes on the leader; try again shortly');
    if (leader === this.deps.hubId) throw new AlertingLeaderUnavailableError('this hub is becoming the leader: try again shortly');
    const member = (await this.deps.members()).items.find((m) => m.hub_id === leader);
    if (!member?.http_url) throw new AlertingLeaderUnavailableError(`the leader ${leader} is not in the membership list`);
    const headersOut = { ...headers, [RELAYED_BY_HEADER]: this.deps.hubId };
    try {
      const a = await postToPeer(new URL(path, member.http_url), { tls: this.deps.tls, headers: headersOut, body, timeoutMs: this.deps.timeoutMs, maxAnswer: MAX_ANSWER });
      return { status: a.status || 502, contentType: a.contentType || 'application/json', body: a.body };
    } catch (err) {
      throw new AlertingLeaderUnavailableError(`the leader ${leader} cannot be reached: ${(err as Error).message}`);
    }
  }
}
