// Which watch events a caller may receive: each event needs read on its own resource and must
// pass that resource's row filter (a removal is judged by the object as it was). An upsert that
// takes an object out of the caller's view reaches it as a remove, so its list stays right.
import type { KindName } from '../../shared/model/index.js';
import { resourceOfKind, type Visibility } from '../policy/index.js';
import type { WatchEvent } from './watch-feed.js';

export function watchVisibility(visibility: Visibility): (event: WatchEvent) => WatchEvent | undefined {
  const fleetEvents = visibility.rows('cluster');
  return (event) => {
    if (event.type === 'reset') return event;
    if (event.type === 'event') return fleetEvents.allows('event', event.event) ? event : undefined;
    if (event.type === 'cluster') return fleetEvents.allows('cluster', { name: event.cluster, cluster: event.cluster }) ? event : undefined;
    const kind = event.kind as KindName;
    const rows = visibility.rows(resourceOfKind(kind));
    if (event.type === 'remove') return rows.allows(kind, event.previous) ? { ...event, previous: undefined } : undefined;
    if (rows.allows(kind, event.object)) return visibility.tenant ? { ...event, object: visibility.tenantView(kind, event.object), previous: undefined } : event;
    if (event.previous && rows.allows(kind, event.previous)) return { ...event, type: 'remove', object: undefined };
    return undefined;
  };
}

/**
 * The clusters a watcher's event ids may name (ids carry a place per cluster): those whose
 * record it may read. undefined for a caller that may read every cluster (the ids all share).
 */
export function watchNames(visibility: Visibility): ((cluster: string) => boolean) | undefined {
  const rows = visibility.rows('cluster');
  if (!visibility.tenant && rows.unrestricted) return undefined;
  return (cluster) => rows.allows('cluster', { name: cluster, cluster });
}

/**
 * What a watch shows, as one string: the rows it may read of each resource its events come from,
 * and its tenant. An open watch compares it on every re-check: when the caller's roles changed
 * (an rbac reload, new directory groups) so that it differs, the watch is ended and the client
 * reconnects under the new view, rather than keep objects it may no longer see.
 */
export function watchScope(visibility: Visibility): string {
  const resources = ['cluster', 'jobs', 'nodes'] as const;
  return JSON.stringify([visibility.tenant?.name ?? null, ...resources.map((r) => visibility.rows(r).toJSON())]);
}

/** The error a re-check throws when the view changed (see watchScope). */
export function scopeChanged(): Error {
  return new Error("the caller's roles changed (rbac reloaded, or its groups changed) and with them what it may watch; reconnect to watch what they allow now");
}
