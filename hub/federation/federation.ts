// Multi-region queries: a global query asks every peer region's hub (scope=region, never
// recursively) over HTTPS with this hub's client certificate, each under its own deadline,
// and merges the answers with this region's. Regions that fail or time out are named in
// `partial`; a dead or hanging region costs at most its timeout, never the whole answer.
import { request } from 'node:https';
import type { Logger } from '../../shared/logging/index.js';
import { MIN_TLS_VERSION, tlsOptionsOf, type TlsMaterial } from '../../shared/tls/index.js';
import { checkLimit, TOTAL_CAP, type JobSortField, type SortOrder } from '../fleet/index.js';
import { decodeGlobalCursor, jobMergeOrder, mergeAll, mergePage, regionCursor, type ItemKey, type RegionPage } from './merge.js';

export interface PeerRegion {
  name: string;
  /** https://host:port of the peer region's API. */
  url: string;
  /** Milliseconds the peer has to answer one query. */
  timeout: number;
}

export interface FederationOptions {
  region: string;
  peers: PeerRegion[];
  /** Client certificate and the CA the peers' server certificates must chain to. */
  tls?: TlsMaterial;
  logger?: Logger;
}

export type GlobalKind = 'clusters' | 'partitions' | 'jobs' | 'nodes' | 'aggregates';

const KEYS: Record<GlobalKind, (item: Record<string, unknown>) => ItemKey> = {
  clusters: (c) => ({ cluster: String(c.name), key: '' }),
  partitions: (p) => ({ cluster: String(p.cluster), key: String(p.name) }),
  jobs: (j) => ({ cluster: String(j.cluster), key: Number(j.id) }),
  nodes: (n) => ({ cluster: String(n.cluster), key: String(n.name) }),
  aggregates: (a) => ({ cluster: String(a.cluster), key: '' }),
};
const PAGED: ReadonlySet<GlobalKind> = new Set(['jobs', 'nodes']);
const MAX_BODY = 64 * 1024 * 1024;

export interface GlobalAnswer {
  items: Record<string, unknown>[];
  next_cursor?: string | null;
  /** Regions that answered, this one first. */
  regions: string[];
  /** Regions that failed or timed out: their items are missing. */
  partial: string[];
  /** Jobs asked with count=true: the regions' totals added up (at most TOTAL_CAP), the missing regions' left out. */
  total?: number | null;
  total_capped?: boolean;
}

/** This region's answer for a page (limit/cursor only for jobs and nodes). */
export type LocalQuery = (limit?: number, cursor?: string) => { items: object[]; next_cursor?: string | null; total?: number | null; total_capped?: boolean };

/** A region's count, as its page carried it. */
interface RegionCount {
  total: number | null;
  capped: boolean;
}

export class PeerError extends Error {}

export class Federation {
  constructor(private readonly opts: FederationOptions) {}

  get region(): string {
    return this.opts.region;
  }

  get peers(): readonly PeerRegion[] {
    return this.opts.peers;
  }

  /** Answer a scope=global query of `kind`; `query` is the request's query string (scope, limit, cursor and filters). */
  async query(kind: GlobalKind, query: Record<string, unknown>, local: LocalQuery, headers: Record<string, string> = {}): Promise<GlobalAnswer> {
    const filters = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (k === 'scope' || k === 'limit' || k === 'cursor' || v === undefined || v === '') continue;
      filters.set(k, String(v));
    }
    filters.set('scope', 'region');
    const keyOf = KEYS[kind] as (item: object) => ItemKey;
    const paged = PAGED.has(kind);
    const limit = paged ? checkLimit(query.limit as number | undefined) : undefined;
    const previous = paged && typeof query.cursor === 'string' && query.cursor ? decodeGlobalCursor(query.cursor) : undefined;

    // Jobs in another order than (cluster, id) ascending merge in that order across the regions.
    const sort = (query.sort as JobSortField | undefined) ?? 'id';
    const direction = (query.order as SortOrder | undefined) ?? 'asc';
    const order = kind === 'jobs' && (sort !== 'id' || direction === 'desc') ? jobMergeOrder(sort, direction) : undefined;

    const pages: RegionPage<object>[] = [];
    const counts: RegionCount[] = [];
    const failed: string[] = [];
    const localCursor = paged ? regionCursor(previous, this.opts.region) : '';
    if (localCursor !== undefined) {
      const page = local(limit, localCursor || undefined);
      pages.push({ region: this.opts.region, items: page.items, next_cursor: page.next_cursor ?? null });
      counts.push({ total: page.total ?? null, capped: page.total_capped === true });
    }
    const asked = this.opts.peers.flatMap((peer) => {
      const cursor = paged ? regionCursor(previous, peer.name) : '';
      if (cursor === undefined) return [];
      const params = new URLSearchParams(filters);
      if (limit !== undefined) params.set('limit', String(limit));
      if (cursor) params.set('cursor', cursor);
      return [{ peer, answer: this.fetch(peer, `/api/v1/${kind}`, params, headers) }];
    });
    // Settled together: each peer is bounded by its own deadline, none waits for another.
    const settled = await Promise.allSettled(asked.map((a) => a.answer));
    for (const [i, { peer }] of asked.entries()) {
      const outcome = settled[i];
      const body = (outcome.status === 'fulfilled' ? outcome.value : undefined) as { items?: unknown; next_cursor?: unknown; total?: unknown; total_capped?: unknown } | undefined;
      if (body && Array.isArray(body.items)) {
        pages.push({ region: peer.name, items: body.items as object[], next_cursor: typeof body.next_cursor === 'string' ? body.next_cursor : null });
        counts.push({ total: typeof body.total === 'number' ? body.total : null, capped: body.total_capped === true });
        continue;
      }
      failed.push(peer.name);
      const why = outcome.status === 'rejected' ? (outcome.reason as Error).message : 'the answer has no items list';
      this.opts.logger?.warn({ region: peer.name, url: peer.url, err: why }, 'peer region did not answer a global query');
    }
    const regions = [this.opts.region, ...pages.map((p) => p.region).filter((r) => r !== this.opts.region)];
    if (paged) {
      const page = mergePage(pages, failed, limit!, keyOf, previous, order);
      const answer: GlobalAnswer = { items: page.items as Record<string, unknown>[], next_cursor: page.next_cursor, regions, partial: failed };
      if (kind === 'jobs' && query.count === true) Object.assign(answer, totalOf(counts));
      return answer;
    }
    return { items: mergeAll(pages, keyOf) as Record<string, unknown>[], regions, partial: failed };
  }

  /** Asks every peer's /healthz once: the peers that did not answer, with why (alerting's peer_region_unreachable). */
  async probe(): Promise<Map<string, string>> {
    const down = new Map<string, string>();
    await Promise.all(this.opts.peers.map((peer) => this.fetch(peer, '/healthz', new URLSearchParams()).then(() => undefined, (err: Error) => void down.set(peer.name, err.message))));
    return down;
  }

  /** GET one peer's JSON under its deadline; rejects on any network, TLS, HTTP or parse failure. */
  private fetch(peer: PeerRegion, path: string, params: URLSearchParams, headers: Record<string, string> = {}): Promise<unknown> {
    const url = new URL(path, peer.url);
    url.search = params.toString();
    const tls = this.opts.tls;
    return new Promise((resolve, reject) => {
      const abort = new AbortController();
      let done = false;
      const finish = (err: Error | undefined, value?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) {
          abort.abort();
          reject(err);
        } else resolve(value);
      };
      const timer = setTimeout(() => finish(new PeerError(`no answer within ${peer.timeout} ms`)), peer.timeout);
      const req = request(
        url,
        {
          method: 'GET',
          // Extra headers: the caller's RBAC row filters, so the peer narrows its answer to them.
          headers: { ...headers, accept: 'application/json' },
          ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
          ...(tls ? tlsOptionsOf(tls) : { minVersion: MIN_TLS_VERSION }),
          rejectUnauthorized: true,
          agent: false,
          signal: abort.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY) finish(new PeerError('the answer is too large'));
            else chunks.push(chunk);
          });
          res.on('error', (err) => finish(err));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 500) >= 400) {
              let detail = `HTTP ${res.statusCode}`;
              try {
                detail = (JSON.parse(text) as { detail?: string }).detail ?? detail;
              } catch {
                // keep the status
              }
              finish(new PeerError(detail));
              return;
            }
            try {
              finish(undefined, JSON.parse(text));
            } catch {
              finish(new PeerError('the answer is not JSON'));
            }
          });
        },
      );
      req.on('error', (err) => finish(err));
      req.end();
    });
  }
}

/** The regions' counts added up: exact while every region's is and the sum stays under TOTAL_CAP. */
function totalOf(counts: RegionCount[]): { total: number | null; total_capped: boolean } {
  if (counts.length === 0 || counts.some((c) => c.total === null)) return { total: null, total_capped: false };
  const sum = counts.reduce((s, c) => s + (c.total ?? 0), 0);
  return { total: Math.min(sum, TOTAL_CAP), total_capped: sum >= TOTAL_CAP || counts.some((c) => c.capped) };
}
