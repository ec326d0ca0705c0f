// The two pages, in Confluence's storage format (XHTML): every value from the fleet is escaped,
// so a job account or an alert summary cannot add markup to a page.
import type { AlertHistory } from '../alerting/history.js';
import type { UsageRow } from '../history/index.js';

export interface UsagePeriod {
  /** YYYY-MM, in the report's time zone. */
  month: string;
  /** Epoch ms, inclusive / exclusive. */
  from: number;
  until: number;
  timezone: string;
}

export const usageTitle = (region: string, month: string): string => `sfleet usage ${month} (${region})`;

export function incidentTitle(h: AlertHistory): string {
  // Labels come from outside (the intake): each is cut so the title stays within Confluence's 255.
  const name = cut(h.labels.alertname ?? 'alert', 100);
  const where = h.labels.cluster ? ` on ${cut(h.labels.cluster, 80)}` : '';
  // The fingerprint and the firing time make the title unique per episode; a retry finds it.
  return `Incident ${h.fired_at.slice(0, 16).replace('T', ' ')} UTC: ${name}${where} (${h.fingerprint.slice(0, 8)})`;
}

const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

export function usagePage(region: string, period: UsagePeriod, byAccount: UsageRow[], byCluster: UsageRow[], generatedAt: string): string {
  const total = byCluster.reduce((t, r) => ({ jobs: t.jobs + r.jobs, cpu: t.cpu + r.cpu_hours, gpu: t.gpu + r.gpu_hours, failed: t.failed + r.failed }), { jobs: 0, cpu: 0, gpu: 0, failed: 0 });
  return [
    `<p>Runs that ended in ${esc(period.month)} (${esc(period.timezone)}): ${esc(new Date(period.from).toISOString())} to ${esc(new Date(period.until).toISOString())}, region <strong>${esc(region)}</strong>, from the job history (sacct).</p>`,
    `<p>${total.jobs} runs, ${fixed(total.cpu)} CPU-hours, ${fixed(total.gpu)} GPU-hours, ${total.failed} failed.</p>`,
    '<h2>By account</h2>',
    usageTable('Account', byAccount),
    '<h2>By cluster</h2>',
    usageTable('Cluster', byCluster),
    `<p><em>Written by sfleet at ${esc(generatedAt)}; the page is replaced if the report is made again.</em></p>`,
  ].join('\n');
}

function usageTable(key: string, rows: UsageRow[]): string {
  if (rows.length === 0) return '<p>No runs.</p>';
  const head = `<tr><th>${key}</th><th>Runs</th><th>CPU-hours</th><th>GPU-hours</th><th>Wait p50 (s)</th><th>Wait p90 (s)</th><th>Failed</th><th>Failure rate</th></tr>`;
  const body = rows.map((r) => `<tr><td>${esc(r.key)}</td><td>${r.jobs}</td><td>${fixed(r.cpu_hours)}</td><td>${fixed(r.gpu_hours)}</td><td>${opt(r.wait_p50_s)}</td><td>${opt(r.wait_p90_s)}</td><td>${r.failed}</td><td>${(r.failure_rate * 100).toFixed(1)}%</td></tr>`);
  return `<table><tbody>${head}${body.join('')}</tbody></table>`;
}

/** `overlapping`: the other alerts of these severities open at the same time (the affected clusters). */
export function incidentPage(h: AlertHistory, overlapping: AlertHistory[], generatedAt: string): string {
  const clusters = [...new Set([h, ...overlapping].map((a) => a.labels.cluster).filter((c): c is string => !!c))].sort();
  const lasted = h.resolved_at ? Math.max(0, Date.parse(h.resolved_at) - Date.parse(h.fired_at)) : undefined;
  const labels = Object.entries(h.labels).sort(([a], [b]) => a.localeCompare(b));
  return [
    `<p><strong>${esc(h.summary)}</strong></p>`,
    '<table><tbody>',
    `<tr><th>Fired</th><td>${esc(h.fired_at)}</td></tr>`,
    `<tr><th>Acknowledged</th><td>${h.acknowledged_at ? `${esc(h.acknowledged_at)} by ${esc(h.acknowledged_by ?? 'unknown')}` : 'never'}</td></tr>`,
    `<tr><th>Resolved</th><td>${esc(h.resolved_at ?? '')}${h.resolved_by ? ` by ${esc(h.resolved_by)}` : ' (the condition cleared)'}</td></tr>`,
    `<tr><th>Lasted</th><td>${lasted === undefined ? '' : esc(humanDuration(lasted))}</td></tr>`,
    `<tr><th>Affected clusters</th><td>${clusters.length ? clusters.map(esc).join(', ') : 'none named'}</td></tr>`,
    '</tbody></table>',
    '<h2>Timeline (UTC)</h2>',
    `<table><tbody><tr><th>At</th><th>What</th><th>Detail</th></tr>${h.timeline.map((e) => `<tr><td>${esc(e.at)}</td><td>${esc(e.what)}</td><td>${esc(timelineDetail(e))}</td></tr>`).join('')}</tbody></table>`,
    overlapping.length ? `<h2>Open at the same time</h2><ul>${overlapping.map((o) => `<li>${esc(o.labels.alertname ?? 'alert')}${o.labels.cluster ? ` on ${esc(o.labels.cluster)}` : ''}: ${esc(o.summary)} (${esc(o.fired_at)} to ${esc(o.resolved_at ?? 'open')})</li>`).join('')}</ul>` : '',
    '<h2>Labels</h2>',
    `<table><tbody>${labels.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`,
    `<p><em>Written by sfleet at ${esc(generatedAt)} (fingerprint ${esc(h.fingerprint)}).</em></p>`,
  ].join('\n');
}

function timelineDetail(e: AlertHistory['timeline'][number]): string {
  if (e.what === 'notified') return [e.channel, e.status, e.step !== undefined ? `step ${e.step}` : '', e.outcome].filter(Boolean).join(', ');
  return e.by ? `by ${e.by}` : '';
}

function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
}

const fixed = (n: number): string => n.toFixed(1);
const opt = (n: number | null): string => (n === null ? '' : n.toFixed(0));

/** XML text and attribute escaping; control characters XML 1.0 forbids are dropped. */
export function esc(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex -- these are the characters XML 1.0 cannot hold
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
