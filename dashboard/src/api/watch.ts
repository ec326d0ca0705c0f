// The hub's watch stream (SSE) shared by every page: one EventSource, which the browser resumes
// with Last-Event-ID after a lost connection; the connection state is shown in the header.
// A "reset" (the hub restarted or the gap is too old) tells the pages to list again. Fleet
// events (type "event": controller failover, alerts fired, acknowledged, resolved) come too.
import { useEffect, useState } from 'preact/hooks';
import { api } from './client';

export type WatchState = 'connecting' | 'live' | 'lost';
export interface WatchMessage {
  type: 'upsert' | 'remove' | 'reset' | 'event' | 'cluster';
  kind?: string;
  cluster?: string;
  id?: string;
  object?: Record<string, unknown> | null;
}
type Listener = (m: WatchMessage) => void;

const listeners = new Set<Listener>();
const stateListeners = new Set<(s: WatchState) => void>();
let source: EventSource | undefined;
let state: WatchState = 'connecting';
let lastEventId = '';

function setState(s: WatchState): void {
  state = s;
  for (const l of stateListeners) l(s);
}

let opened = false;

function open(): void {
  // After the browser gives up (a 401 or a hub restart closes for good) we reopen with the last id.
  // (While it retries by itself, the browser resumes from the stream's own ids, the opening one
  // included, which no listener sees.) Reopened with no id known, what changed meanwhile is
  // unknown: the pages are told to list again.
  const blind = opened && !lastEventId;
  opened = true;
  const url = `/api/v1/watch?kinds=job,node,cluster,event${lastEventId ? `&last_event_id=${encodeURIComponent(lastEventId)}` : ''}`;
  source = new EventSource(url, { withCredentials: true });
  source.onopen = () => {
    setState('live');
    if (blind) for (const l of listeners) l({ type: 'reset' });
  };
  source.onerror = () => {
    setState('lost');
    if (source?.readyState === EventSource.CLOSED) {
      source = undefined;
      // EventSource hides the status: if the session ended (a logout ends the watch too), the
      // client's 401 handling takes the browser to the login page and back here.
      void api.GET('/api/v1/auth/whoami');
      setTimeout(open, 3000);
    }
  };
  for (const type of ['upsert', 'remove', 'reset', 'cluster', 'event'] as const) {
    source.addEventListener(type, (e) => {
      const ev = e as MessageEvent<string>;
      if (ev.lastEventId) lastEventId = ev.lastEventId;
      const data = JSON.parse(ev.data) as Omit<WatchMessage, 'type'>;
      for (const l of listeners) l({ type, ...data });
    });
  }
}

export function onWatch(listener: Listener): () => void {
  if (!source) open();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useWatchState(): WatchState {
  const [s, set] = useState(state);
  useEffect(() => {
    if (!source) open();
    stateListeners.add(set);
    return () => stateListeners.delete(set);
  }, []);
  return s;
}
