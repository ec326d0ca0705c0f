// The shell: who is logged in, the navigation, the live-connection badge, theme and time
// switches, keyboard help; the page for the current path below it.
import { useEffect, useState } from 'preact/hooks';
import { api, mayI, type Whoami } from './api/client';
import { useWatchState } from './api/watch';
import { navigate, useLocation } from './router';
import { setPref, usePrefs } from './prefs';
import { Overview } from './pages/overview';
import { Jobs } from './pages/jobs';
import { Nodes } from './pages/nodes';
import { Alerts } from './pages/alerts';
import { Quotas } from './pages/quotas';
import { Audit } from './pages/audit';
import { Help } from './components/help';

/** The pages; those with `read` show in the navigation only when the gate lets the user read them. */
const NAV: { path: string; label: string; key: string; read?: [string, string] }[] = [
  { path: '/', label: 'Overview', key: 'o' },
  { path: '/jobs', label: 'Jobs', key: 'J' },
  { path: '/nodes', label: 'Nodes', key: 'N' },
  { path: '/alerts', label: 'Alerts', key: 'A', read: ['read', 'alerts'] },
  { path: '/quotas', label: 'Quotas', key: 'Q', read: ['read', 'quota'] },
  { path: '/audit', label: 'Audit', key: 'U', read: ['read', 'audit'] },
];
const PAGES: Record<string, () => preact.JSX.Element> = { '/': Overview, '/jobs': Jobs, '/nodes': Nodes, '/alerts': Alerts, '/quotas': Quotas, '/audit': Audit };

export function App() {
  const { path } = useLocation();
  const prefs = usePrefs();
  const watch = useWatchState();
  const [me, setMe] = useState<Whoami | undefined>();
  const [help, setHelp] = useState(false);
  const [readable, setReadable] = useState<Set<string>>(new Set());

  useEffect(() => {
    void api.GET('/api/v1/auth/whoami').then((r) => r.data && setMe(r.data));
    for (const n of NAV) if (n.read) void mayI(...n.read).then((ok) => ok && setReadable((s) => new Set([...s, n.path])));
  }, []);
  const nav = NAV.filter((n) => !n.read || readable.has(n.path));

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const t = e.target as HTMLElement;
      if (t.closest('input, textarea, select, dialog')) return;
      if (e.key === '?') {
        e.preventDefault();
        setHelp((h) => !h);
      } else if (e.key === 'Escape') setHelp(false);
      else if (e.key === 'g' || e.ctrlKey || e.metaKey || e.altKey) return;
      else {
        const nav = NAV.find((n) => n.key === e.key);
        if (nav) navigate(nav.path);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const section = path === '/' ? '/' : `/${path.split('/')[1]}`;
  return (
    <div class="shell">
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">slurmfleet</span>
        <nav aria-label="Pages">
          {nav.map((n) => (
            <a
              key={n.path}
              href={n.path}
              aria-current={section === n.path ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(n.path);
              }}
            >
              {n.label}
            </a>
          ))}
        </nav>
        <span class={`live live-${watch}`} role="status" aria-live="polite" data-testid="watch-state">
          {watch === 'live' ? 'Live' : watch === 'lost' ? 'Connection lost: reconnecting…' : 'Connecting…'}
        </span>
        <span class="spacer" />
        <button type="button" class="ghost" onClick={() => setPref('tz', prefs.tz === 'utc' ? 'local' : 'utc')} aria-label={`Times in ${prefs.tz === 'utc' ? 'UTC' : 'local time'}; switch`}>
          {prefs.tz === 'utc' ? 'UTC' : 'Local time'}
        </button>
        <button type="button" class="ghost" onClick={() => setPref('theme', prefs.theme === 'dark' ? 'light' : 'dark')} aria-label={`Switch to ${prefs.theme === 'dark' ? 'light' : 'dark'} theme`}>
          {prefs.theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <button type="button" class="ghost" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts">?</button>
        {me && (
          <span class="me" title={me.roles.map((r) => r.role).join(', ')}>
            {me.name}
          </span>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {(() => {
          const Page = PAGES[section] ?? NotFound;
          return <Page />;
        })()}
      </main>
      {help && <Help onClose={() => setHelp(false)} />}
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>This page does not exist. Go to the <a href="/">overview</a>.</p>
    </section>
  );
}
