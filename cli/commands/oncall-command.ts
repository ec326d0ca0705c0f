// `sfleet oncall [schedule]`: who is on call now on each schedule, and the next 4 hand-offs, in
// UTC and in the schedule's own time zone (GET /api/v1/schedules).
import type { Command } from 'commander';
import type { ScheduleView } from '../../hub/alerting/index.js';
import { render, type Column } from '../output/render.js';
import { clientFrom, formatFrom, withConnection, withOutput } from './connection-options.js';

interface Row {
  schedule: string;
  when: string;
  local: string;
  on_call: string;
  note: string;
}

const COLUMNS: Column<Row>[] = [
  { header: 'SCHEDULE', value: (r) => r.schedule },
  { header: 'WHEN', value: (r) => r.when },
  { header: 'LOCAL', value: (r) => r.local },
  { header: 'ON CALL', value: (r) => r.on_call },
  { header: 'NOTE', value: (r) => r.note },
];

/** "Mon 2026-03-30 09:00 CEST": the hand-off as the schedule's people see it. */
export function localTime(iso: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }).formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('weekday')} ${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${get('timeZoneName')}`;
}

export function oncallRows(items: ScheduleView[]): Row[] {
  return items.flatMap((s) => [
    { schedule: s.name, when: 'now', local: '', on_call: s.on_call, note: s.override_until ? `override until ${localTime(s.override_until, s.time_zone)}` : '' },
    ...s.next_handoffs.map((h) => ({ schedule: s.name, when: h.at, local: localTime(h.at, s.time_zone), on_call: h.to, note: `hand-off from ${h.from}` })),
  ]);
}

export function registerOncallCommand(program: Command): void {
  withOutput(withConnection(program.command('oncall [schedule]').description('who is on call now on each schedule (or one), and the next 4 hand-offs'))).action(async (name: string | undefined, opts) => {
    const page = await clientFrom(opts).json<{ items: ScheduleView[] }>('GET', '/api/v1/schedules');
    const items = name ? page.items.filter((s) => s.name === name) : page.items;
    if (name && !items.length) throw new Error(`no schedule "${name}"; schedules: ${page.items.map((s) => s.name).join(', ') || 'none'}`);
    const format = formatFrom(opts);
    const text = format === 'table' ? render(oncallRows(items), format, COLUMNS) : render(items, format, []);
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  });
}
