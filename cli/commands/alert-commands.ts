// `sfleet alerts` (list, ack, resolve, history, deliveries, test-channel) and `sfleet silence`
// (add, list, expire): the hub's /api/v1/alerts and /api/v1/silences.
import type { Command } from 'commander';
import type { AlertHistory, AlertView, DeliveryRecord, Silence } from '../../hub/alerting/index.js';
import { render, type Column } from '../output/render.js';
import { clientFrom, formatFrom, withConnection, withOutput } from './connection-options.js';

const ALERT_COLUMNS: Column<AlertView>[] = [
  { header: 'FINGERPRINT', value: (a) => a.fingerprint },
  { header: 'STATE', value: (a) => (a.silenced_by ? `${a.state} (silenced)` : a.inhibited_by ? `${a.state} (inhibited)` : a.state) },
  { header: 'SEVERITY', value: (a) => a.labels.severity ?? '' },
  { header: 'ALERT', value: (a) => a.labels.alertname ?? '' },
  { header: 'CLUSTER', value: (a) => a.labels.cluster ?? '' },
  { header: 'SINCE', value: (a) => a.starts_at ?? a.active_since },
  { header: 'ACKED', value: (a) => a.groups.find((g) => g.acked_by)?.acked_by ?? '' },
  { header: 'SUMMARY', value: (a) => a.annotations.summary },
];

const SILENCE_COLUMNS: Column<Silence>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'MATCHERS', value: (s) => s.matchers.join(',') },
  { header: 'STARTS', value: (s) => s.starts_at },
  { header: 'ENDS', value: (s) => s.ends_at },
  { header: 'CREATOR', value: (s) => s.created_by },
  { header: 'COMMENT', value: (s) => s.comment },
];

const HISTORY_COLUMNS: Column<AlertHistory>[] = [
  { header: 'FINGERPRINT', value: (h) => h.fingerprint },
  { header: 'ALERT', value: (h) => h.labels.alertname ?? '' },
  { header: 'CLUSTER', value: (h) => h.labels.cluster ?? '' },
  { header: 'FIRED', value: (h) => h.fired_at },
  { header: 'NOTIFIED', value: (h) => notified(h) },
  { header: 'ACKED', value: (h) => (h.acknowledged_at ? `${h.acknowledged_at} by ${h.acknowledged_by}` : '') },
  { header: 'RESOLVED', value: (h) => `${h.resolved_at ?? ''}${h.resolved_by ? ` by ${h.resolved_by}` : ''}` },
  { header: 'SUMMARY', value: (h) => h.summary },
];

/** The first notification and the channels reached: "12:00:05Z email,pagerduty (1 failed)". */
function notified(h: AlertHistory): string {
  const sent = h.timeline.filter((e) => e.what === 'notified');
  if (!sent.length) return '';
  const ok = [...new Set(sent.filter((e) => e.outcome === 'delivered').map((e) => e.channel))];
  const failed = sent.filter((e) => e.outcome !== 'delivered').length;
  return `${sent[0].at} ${ok.join(',')}${failed ? ` (${failed} failed)` : ''}`;
}

const DELIVERY_COLUMNS: Column<DeliveryRecord>[] = [
  { header: 'TIME', value: (d) => d.at },
  { header: 'CHANNEL', value: (d) => d.channel },
  { header: 'STATUS', value: (d) => d.status },
  { header: 'ATTEMPT', value: (d) => String(d.attempt) },
  { header: 'OUTCOME', value: (d) => d.outcome },
  { header: 'REASON', value: (d) => d.reason ?? '' },
];

function print<T>(items: T[], opts: Record<string, unknown>, columns: Column<T>[]): void {
  const text = render(items, formatFrom(opts), columns);
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

const cmd = (parent: Command, spec: string, description: string) => withOutput(withConnection(parent.command(spec).description(description)));

export function registerAlertCommands(program: Command): void {
  const alerts = program.command('alerts').description('alerts: list, ack, resolve, history, deliveries, test-channel');
  cmd(alerts, 'list', 'list alerts (pending, firing, recently resolved)')
    .option('--state <state>', 'pending, firing or resolved')
    .option('--cluster <name>')
    .option('--severity <severity>')
    .action(async (opts) => {
      const q = new URLSearchParams();
      for (const k of ['state', 'cluster', 'severity']) if (opts[k]) q.set(k, opts[k]);
      const page = await clientFrom(opts).json<{ items: AlertView[] }>('GET', `/api/v1/alerts${q.size ? `?${q}` : ''}`);
      print(page.items, opts, ALERT_COLUMNS);
    });
  for (const verb of ['ack', 'resolve'] as const) {
    cmd(alerts, `${verb} <id>`, verb === 'ack' ? 'acknowledge an alert (fingerprint) or group: its escalation stops' : 'resolve an alert or group by hand (resolve notifications go out)').action(async (id: string, opts) => {
      const page = await clientFrom(opts).json<{ items: AlertView[] }>('POST', `/api/v1/alerts/${encodeURIComponent(id)}/${verb}`, {});
      print(page.items, opts, ALERT_COLUMNS);
    });
  }
  cmd(alerts, 'history', 'resolved alerts, newest first, with their timeline (fired, notified, acked, resolved; -o json for every step)')
    .option('--cluster <name>')
    .option('--limit <n>', 'at most n (default 100)', (v) => Number(v))
    .action(async (opts) => {
      const q = new URLSearchParams();
      if (opts.cluster) q.set('cluster', opts.cluster);
      if (opts.limit !== undefined) q.set('limit', String(opts.limit));
      const page = await clientFrom(opts).json<{ items: AlertHistory[] }>('GET', `/api/v1/alerts/history${q.size ? `?${q}` : ''}`);
      print(page.items, opts, HISTORY_COLUMNS);
    });
  cmd(alerts, 'deliveries', 'the delivery log, oldest first')
    .option('--channel <name>')
    .option('--outcome <outcome>', 'delivered, retry, rejected or failed')
    .option('--limit <n>', 'the newest n (default 500)', (v) => Number(v))
    .action(async (opts) => {
      const q = new URLSearchParams();
      if (opts.channel) q.set('channel', opts.channel);
      if (opts.outcome) q.set('outcome', opts.outcome);
      if (opts.limit !== undefined) q.set('limit', String(opts.limit));
      const page = await clientFrom(opts).json<{ items: DeliveryRecord[] }>('GET', `/api/v1/alerts/deliveries${q.size ? `?${q}` : ''}`);
      print(page.items, opts, DELIVERY_COLUMNS);
    });
  cmd(alerts, 'test-channel <name>', 'send a test notification through a channel and show its outcome').action(async (name: string, opts) => {
    const out = await clientFrom(opts).json<{ outcome: string; deliveries: DeliveryRecord[] }>('POST', `/api/v1/alerts/channels/${encodeURIComponent(name)}/test`, {});
    print(out.deliveries, opts, DELIVERY_COLUMNS);
    if (out.outcome !== 'delivered') process.exitCode = 1;
  });

  const silence = program.command('silence').description('silences: add, list, expire');
  cmd(silence, 'add <matchers...>', 'add a silence, e.g. sfleet silence add \'cluster="prod-a"\' \'alertname="node_down"\' --duration 2h --comment "rack swap"')
    .requiredOption('--comment <text>', 'why (required)')
    .option('--duration <d>', 'how long, e.g. 30m, 2h', '1h')
    .option('--start <time>', 'ISO-8601 start (default now)')
    .option('--end <time>', 'ISO-8601 end (instead of --duration)')
    .action(async (matchers: string[], opts) => {
      const start = opts.start ? Date.parse(opts.start) : Date.now();
      const end = opts.end ? Date.parse(opts.end) : start + parseDuration(opts.duration);
      if (!Number.isFinite(start) || !Number.isFinite(end)) throw new Error('--start/--end must be ISO-8601 times');
      const s = await clientFrom(opts).json<Silence>('POST', '/api/v1/silences', { matchers, ...(opts.start ? { starts_at: new Date(start).toISOString() } : {}), ends_at: new Date(end).toISOString(), comment: opts.comment });
      print([s], opts, SILENCE_COLUMNS);
    });
  cmd(silence, 'list', 'list silences').action(async (opts) => {
    const page = await clientFrom(opts).json<{ items: Silence[] }>('GET', '/api/v1/silences');
    print(page.items, opts, SILENCE_COLUMNS);
  });
  cmd(silence, 'expire <id>', 'end a silence now').action(async (id: string, opts) => {
    const s = await clientFrom(opts).json<Silence>('DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
    print([s], opts, SILENCE_COLUMNS);
  });
}

function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`--duration: "${text}" is not a duration such as 30m or 2h`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
