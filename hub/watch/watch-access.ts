// Which watch events a caller may receive: each event needs read on its own resource and must
// pass that resource's row filter (a removal is judged by the object as it was).
import type { KindName } from '../../shared/model/index.js';
import { resourceOfKind, type AccessScope } from '../policy/index.js';
import type { WatchEvent } from './watch-feed.js';

export function watchVisibility(scope: AccessScope): (event: WatchEvent) => boolean {
  const fleetEvents = scope.rows('cluster');
  return (event) => {
    if (event.type === 'reset') return true;
    if (event.type === 'event') return fleetEvents.allows('event', event.event);
    const kind = event.kind as KindName;
    return scope.rows(resourceOfKind(kind)).allows(kind, event.object ?? event.previous);
  };
}
