// The user's display choices (theme, UTC or local time), kept in localStorage.
import { useEffect, useState } from 'preact/hooks';

export type Theme = 'light' | 'dark';
export type TimeZone = 'utc' | 'local';

const listeners = new Set<() => void>();
const read = <T extends string>(key: string, fallback: T): T => (localStorage.getItem(`sfleet.${key}`) as T | null) ?? fallback;

export function theme(): Theme {
  return read<Theme>('theme', matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}
export function timeZone(): TimeZone {
  return read<TimeZone>('tz', 'utc');
}

export function setPref(key: 'theme' | 'tz', value: string): void {
  localStorage.setItem(`sfleet.${key}`, value);
  applyTheme();
  listeners.forEach((l) => l());
}

export function applyTheme(): void {
  document.documentElement.dataset.theme = theme();
}

export function usePrefs(): { theme: Theme; tz: TimeZone } {
  const [, tick] = useState(0);
  useEffect(() => {
    const l = (): void => tick((n) => n + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return { theme: theme(), tz: timeZone() };
}

/** "2026-12-06 13:05:09 UTC" or the browser's local time. */
export function formatTime(iso: string | null | undefined, tz: TimeZone): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (tz === 'utc') return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "12 s", "4 min", "3 h" since the time. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
