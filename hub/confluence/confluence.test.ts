// Confluence reports against a local Confluence that checks requests as Atlassian documents them
// (test/harness/confluence-receiver.ts): the monthly usage page and post-incident pages are written
// once each, found again by title after a crash, escaped, retried through outages and refusals,
// and nothing is skipped once Confluence answers again.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { ConfluenceReceiver, wellFormed } from '../../test/harness/confluence-receiver.js';
import type { AlertHistory } from '../alerting/history.js';
import type { AuditEvent } from '../audit/index.js';
import type { UsageRow } from '../history/index.js';
import type { LeaderContext } from '../leader/index.js';
import { hubConfigSchema } from '../config/index.js';
import { validateConfigText, parseConfigText } from '../../shared/config/index.js';
import { ConfluenceClient, ConfluencePublisher, monthBefore, type ConfluenceConfig, type PageKind, type PageOutcome } from './index.js';
import { confluenceConfigSchema } from './config.js';

const TOKEN = 'atl-api-token-9f8e7d6c5b4a';
const USER = 'reports@example.org';

function leaderContext(): LeaderContext & { kv: Map<string, string> } {
  const kv = new Map<string, string>();
  return { kv, region: 'eu', hubId: 'hub-1', token: 1, signal: new AbortController().signal, assertLeading: () => undefined, put: async (k, v) => void kv.set(k, v), get: async (k) => kv.get(k) };
}

function row(key: string, jobs: number, cpu: number): UsageRow {
  return { key, jobs, cpu_hours: cpu, gpu_hours: 0, wait_p50_s: 12, wait_p90_s: 60, wait_p99_s: 300, failed: 1, failure_rate: 1 / jobs };
}

function resolved(name: string, cluster: string, firedAt: string, resolvedAt: string, severity = 'critical'): AlertHistory {
  return {
    fingerprint: `${name}-${cluster}-fingerprint`.padEnd(16, '0'),
    labels: { alertname: name, cluster, severity },
    summary: `${name} on ${cluster}`,
    fired_at: firedAt,
    acknowledged_at: firedAt.replace(/:00\.000Z$/, ':30.000Z'),
    acknowledged_by: 'ana',
    resolved_at: resolvedAt,
    resolved_by: null,
    timeline: [
      { at: firedAt, what: 'fired' },
      { at: firedAt, what: 'notified', channel: 'pagerduty', status: 'firing', step: 1, outcome: 'delivered' },
      { at: resolvedAt, what: 'resolved' },
    ],
  };
}

let wiki: ConfluenceReceiver;
let clock: ManualClock;
let audits: AuditEvent[];
let counts: string[];
let history: AlertHistory[];
let usageCalls: [number, number][];

function config(over: Partial<Record<string, unknown>> = {}): ConfluenceConfig {
  return confluenceConfigSchema.parse({ url: `${wiki.url}/wiki`, space: 'HPC', parent_page: 'Fleet reports', username: USER, token_env: 'CONFLUENCE_TOKEN', retries: 2, ...over });
}

function publisher(c = config()): ConfluencePublisher {
  const client = new ConfluenceClient(c, { env: { CONFLUENCE_TOKEN: TOKEN }, sleep: async () => undefined, random: () => 0.5 });
  return new ConfluencePublisher(
    {
      client,
      region: 'eu',
      usage: async (from, until) => {
        usageCalls.push([from, until]);
        return { byAccount: [row('physics', 40, 1200.5), row('<script>alert(1)</script> & co', 2, 3)], byCluster: [row('lab', 42, 1203.5)] };
      },
      resolvedAlerts: () => [...history].sort((a, b) => (b.resolved_at ?? '').localeCompare(a.resolved_at ?? '')),
      audit: { record: async (e) => (audits.push(e), undefined) },
      logger: silentLogger(),
      clock,
      count: (kind: PageKind, outcome: PageOutcome) => counts.push(`${kind}:${outcome}`),
    },
    c,
  );
}

beforeEach(async () => {
  wiki = await new ConfluenceReceiver(['HPC'], { user: USER, token: TOKEN }).start();
  wiki.seed('HPC', 'Fleet reports');
  clock = new ManualClock(Date.parse('2026-11-20T10:00:00.000Z'));
  audits = [];
  counts = [];
  history = [];
  usageCalls = [];
});
afterEach(async () => wiki.close());

describe('confluence: the monthly usage report', () => {
  it('writes the month before each firing once, under the parent page, and rewrites (not duplicates) it when made again', async () => {
    const p = publisher();
    const ctx = leaderContext();
    expect(await p.usageTick(ctx)).toBe('started');
    expect(await p.usageTick(ctx)).toBe('not-due');
    clock.set(Date.parse('2026-12-01T06:00:05.000Z'));
    expect(await p.usageTick(ctx)).toBe('written');
    expect(usageCalls).toEqual([[Date.parse('2026-11-01T00:00:00.000Z'), Date.parse('2026-12-01T00:00:00.000Z')]]);
    const page = wiki.byTitle('sfleet usage 2026-11 (eu)')!;
    expect(page).toMatchObject({ space: 'HPC', version: 1, parentId: wiki.byTitle('Fleet reports')!.id });
    expect(page.storage).toContain('<td>physics</td><td>40</td><td>1200.5</td>');
    // A hostile account name is text on the page, and the page is well-formed (Confluence accepted it).
    expect(page.storage).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; co');
    expect(wellFormed(page.storage)).toBeUndefined();
    expect(await p.usageTick(ctx)).toBe('not-due');

    // The leader crashed after Confluence took the page and before its progress was saved: the next
    // leader finds the page by title and replaces it (version 2), no second page.
    ctx.kv.set('confluence-usage-report', '2026-11-20T10:00:00.000Z');
    expect(await publisher().usageTick(ctx)).toBe('written');
    expect([...wiki.pages.values()].filter((x) => x.title.startsWith('sfleet usage'))).toHaveLength(1);
    expect(wiki.byTitle('sfleet usage 2026-11 (eu)')!.version).toBe(2);
    expect(counts).toEqual(['usage:created', 'usage:updated']);
    expect(audits.map((a) => [a.action, a.outcome])).toEqual([['reports:publish', 'success'], ['reports:publish', 'success']]);
    expect(wiki.refused).toEqual([]);
  });

  it('months follow usage_report.timezone', () => {
    // 23:30 UTC on 30 Nov is already 1 Dec in Berlin: the report is November's, in Berlin's midnight.
    expect(monthBefore(Date.parse('2026-11-30T23:30:00.000Z'), 'Europe/Berlin')).toMatchObject({ month: '2026-11', from: Date.parse('2026-10-31T23:00:00.000Z'), until: Date.parse('2026-11-30T23:00:00.000Z') });
    expect(monthBefore(Date.parse('2026-04-01T06:00:00.000Z'), 'Europe/Berlin')).toMatchObject({ month: '2026-03', from: Date.parse('2026-02-28T23:00:00.000Z'), until: Date.parse('2026-03-31T22:00:00.000Z') });
    expect(monthBefore(Date.parse('2027-01-01T06:00:00.000Z'), 'UTC')).toMatchObject({ month: '2026-12', from: Date.parse('2026-12-01T00:00:00.000Z'), until: Date.parse('2027-01-01T00:00:00.000Z') });
  });

  it('Confluence down: nothing is skipped; the failure is logged, counted and audited once; the page follows when it answers', async () => {
    const p = publisher();
    const ctx = leaderContext();
    await p.usageTick(ctx);
    clock.set(Date.parse('2026-12-01T06:00:05.000Z'));
    // Three 503s (retries: 2 means three tries per check), then a 429 with Retry-After and a 500.
    wiki.script.push({ status: 503 }, { status: 503 }, { status: 503 });
    expect(await p.usageTick(ctx)).toBe('failed');
    wiki.script.push({ status: 429, headers: { 'retry-after': '1' } }, { status: 500 }, { status: 503 });
    expect(await p.usageTick(ctx)).toBe('failed');
    expect(wiki.byTitle('sfleet usage 2026-11 (eu)')).toBeUndefined();
    expect(audits.filter((a) => a.outcome === 'failed')).toHaveLength(1);
    expect(audits[0].reason).toMatch(/HTTP 503/);
    expect(counts).toEqual(['usage:failed', 'usage:failed']);
    clock.advance(3_600_000);
    expect(await p.usageTick(ctx)).toBe('written');
    expect(wiki.byTitle('sfleet usage 2026-11 (eu)')).toBeDefined();
  });

  it('a refusal (a wrong token) is not retried, names the cause, never the token', async () => {
    const c = config();
    const client = new ConfluenceClient(c, { env: { CONFLUENCE_TOKEN: 'wrong-token-123' }, sleep: async () => undefined });
    await expect(client.publish('x', '<p>x</p>')).rejects.toThrow(/Confluence GET page by title: HTTP 401/);
    expect(wiki.requests).toHaveLength(1);
    await expect(client.publish('x', '<p>x</p>')).rejects.not.toThrow(/wrong-token-123/);
  });

  it('an unreachable Confluence and a parent page that does not exist are clear errors', async () => {
    const closed = await new ConfluenceReceiver([], { token: TOKEN }).start();
    await closed.close();
    const gone = new ConfluenceClient(config({ url: `${closed.url}/wiki`, retries: 0 }), { env: { CONFLUENCE_TOKEN: TOKEN } });
    await expect(gone.publish('x', '<p>x</p>')).rejects.toThrow(/no answer: ECONNREFUSED/);
    const orphan = new ConfluenceClient(config({ parent_page: 'No such page' }), { env: { CONFLUENCE_TOKEN: TOKEN } });
    await expect(orphan.publish('x', '<p>x</p>')).rejects.toThrow(/parent_page: space HPC has no page titled "No such page"/);
    // A numeric parent_page is an id, used as it is.
    const byId = new ConfluenceClient(config({ parent_page: Number(wiki.byTitle('Fleet reports')!.id) }), { env: { CONFLUENCE_TOKEN: TOKEN } });
    expect(await byId.publish('under id', '<p>x</p>')).toMatchObject({ created: true, version: 1 });
  });

  it('a Data Center personal access token goes as Bearer', async () => {
    await wiki.close();
    wiki = await new ConfluenceReceiver(['HPC'], { token: TOKEN }).start();
    const client = new ConfluenceClient(config({ username: undefined, parent_page: undefined }), { env: { CONFLUENCE_TOKEN: TOKEN } });
    expect(await client.publish('bearer page', '<p>x</p>')).toMatchObject({ created: true });
  });
});

describe('confluence: post-incident pages', () => {
  it('one page per resolved critical alert after the start, oldest first, with timeline, ack and affected clusters; warnings get none', async () => {
    history.push(resolved('Old', 'lab', '2026-11-19T08:00:00.000Z', '2026-11-19T09:00:00.000Z'));
    const p = publisher();
    const ctx = leaderContext();
    expect(await p.incidentTick(ctx)).toEqual({ written: 0, failed: false });
    history.push(resolved('ControllerDown', 'lab', '2026-11-20T10:01:00.000Z', '2026-11-20T10:20:00.000Z'));
    history.push(resolved('ClusterUnreachable', 'gpu', '2026-11-20T10:05:00.000Z', '2026-11-20T10:10:00.000Z'));
    history.push(resolved('NodeDown', 'lab', '2026-11-20T10:02:00.000Z', '2026-11-20T10:03:00.000Z', 'warning'));
    expect(await p.incidentTick(ctx)).toEqual({ written: 2, failed: false });
    expect(await p.incidentTick(ctx)).toEqual({ written: 0, failed: false });
    const titles = wiki.requests.filter((r) => r.method === 'POST').length;
    expect(titles).toBe(2);
    const page = [...wiki.pages.values()].find((x) => x.title.includes('ControllerDown on lab'))!;
    expect(page.title).toBe('Incident 2026-11-20 10:01 UTC: ControllerDown on lab (Controll)');
    expect(page.storage).toContain('<tr><th>Acknowledged</th><td>2026-11-20T10:01:30.000Z by ana</td></tr>');
    expect(page.storage).toContain('<tr><th>Affected clusters</th><td>gpu, lab</td></tr>');
    expect(page.storage).toContain('<td>notified</td><td>pagerduty, firing, step 1, delivered</td>');
    expect(page.storage).toContain('<tr><th>Lasted</th><td>19 min 0 s</td></tr>');
    expect(wellFormed(page.storage)).toBeUndefined();
    expect([...wiki.pages.values()].some((x) => x.title.includes('Old') || x.title.includes('NodeDown'))).toBe(false);
  });

  it('Confluence refusing a page holds the ones after it; they are all written once it accepts', async () => {
    const p = publisher(config({ parent_page: Number(wiki.byTitle('Fleet reports')!.id) }));
    const ctx = leaderContext();
    await p.incidentTick(ctx);
    history.push(resolved('A', 'lab', '2026-11-20T10:01:00.000Z', '2026-11-20T10:02:00.000Z'));
    history.push(resolved('B', 'lab', '2026-11-20T10:03:00.000Z', '2026-11-20T10:04:00.000Z'));
    wiki.script.push({ status: 200, body: '{"results":[],"size":0}' }, { status: 403, body: '{"message":"Not permitted to create pages in space HPC"}' });
    expect(await p.incidentTick(ctx)).toEqual({ written: 0, failed: true });
    expect(audits.find((a) => a.outcome === 'failed')?.reason).toMatch(/HTTP 403: .*Not permitted/);
    expect(await p.incidentTick(ctx)).toEqual({ written: 2, failed: false });
    expect([...wiki.pages.values()].filter((x) => x.title.startsWith('Incident')).map((x) => x.title.split(': ')[1])).toEqual(['A on lab (A-lab-fi)', 'B on lab (B-lab-fi)']);
  });
});

describe('confluence: incident pages that come late or are refused', () => {
  it('a resolve that carries an earlier time than a page already written still gets its page', async () => {
    const p = publisher(config({ parent_page: Number(wiki.byTitle('Fleet reports')!.id) }));
    const ctx = leaderContext();
    await p.incidentTick(ctx);
    history.push(resolved('X', 'lab', '2026-11-20T10:00:00.000Z', '2026-11-20T10:00:05.000Z'));
    expect(await p.incidentTick(ctx)).toEqual({ written: 1, failed: false });
    // Alertmanager's resolve of Y arrives later with an endsAt before X's resolve.
    history.push(resolved('Y', 'gpu', '2026-11-20T09:59:00.000Z', '2026-11-20T10:00:00.000Z'));
    expect(await p.incidentTick(ctx)).toEqual({ written: 1, failed: false });
    expect([...wiki.pages.values()].filter((x) => x.title.startsWith('Incident')).map((x) => x.title.split(': ')[1].split(' (')[0])).toEqual(['X on lab', 'Y on gpu']);
  });

  it('a page Confluence refuses for itself is given up after three tries (audited), and the next ones follow; a long label keeps the title within 255', async () => {
    const p = publisher(config({ parent_page: Number(wiki.byTitle('Fleet reports')!.id) }));
    const ctx = leaderContext();
    await p.incidentTick(ctx);
    history.push(resolved('Bad', 'lab', '2026-11-20T10:01:00.000Z', '2026-11-20T10:02:00.000Z'));
    history.push(resolved('x'.repeat(600), 'c'.repeat(300), '2026-11-20T10:03:00.000Z', '2026-11-20T10:04:00.000Z'));
    const refuse = () => wiki.script.push({ status: 200, body: '{"results":[],"size":0}' }, { status: 400, body: '{"message":"Error parsing xhtml"}' });
    refuse();
    expect(await p.incidentTick(ctx)).toEqual({ written: 0, failed: true });
    refuse();
    expect(await p.incidentTick(ctx)).toEqual({ written: 0, failed: true });
    refuse();
    expect(await p.incidentTick(ctx)).toEqual({ written: 1, failed: false });
    expect(audits.find((a) => a.reason?.startsWith('given up after 3 refusals'))).toMatchObject({ action: 'reports:publish', outcome: 'failed' });
    const titles = [...wiki.pages.values()].filter((x) => x.title.startsWith('Incident')).map((x) => x.title);
    expect(titles).toHaveLength(1);
    expect(titles[0].length).toBeLessThanOrEqual(255);
    // Confluence down is not a refusal of the page: it waits, never given up.
    history.push(resolved('Later', 'lab', '2026-11-20T10:05:00.000Z', '2026-11-20T10:06:00.000Z'));
    for (let i = 0; i < 4; i++) {
      wiki.script.push({ status: 503 }, { status: 503 }, { status: 503 });
      expect(await p.incidentTick(ctx)).toEqual({ written: 0, failed: true });
    }
    expect(await p.incidentTick(ctx)).toEqual({ written: 1, failed: false });
  });
});

describe('confluence: configuration', () => {
  const TLS = 'tls: { ca: a, cert: b, key: c }\n';
  it('integrations.confluence loads with its defaults and refuses what cannot work', () => {
    const c = parseConfigText(hubConfigSchema, `${TLS}integrations:\n  confluence:\n    url: "https://company.atlassian.net/wiki"\n    space: "HPC"\n    parent_page: "Fleet reports"\n    username: "reports@company.com"\n    token_env: "CONFLUENCE_TOKEN"\n`, 'hub.yaml');
    expect(c.integrations?.confluence).toMatchObject({ space: 'HPC', usage_report: { enabled: true, schedule: '0 6 1 * *', timezone: 'UTC' }, incident_pages: { enabled: true, severities: ['critical'] }, retries: 3, timeout: 10_000 });
    expect(validateConfigText(hubConfigSchema, `${TLS}integrations: { confluence: { url: "https://wiki.example.org", space: "HPC" } }\n`, 'hub.yaml')).toEqual([expect.stringMatching(/integrations\.confluence\.token_env: needs token_env or token_file/)]);
    expect(validateConfigText(hubConfigSchema, `${TLS}integrations: { confluence: { url: "https://wiki.example.org", space: "HPC", token_file: /t, usage_report: { schedule: "monthly", timezone: "Mars/Olympus" } } }\n`, 'hub.yaml')).toEqual(
      expect.arrayContaining([expect.stringMatching(/usage_report\.schedule: not a cron expression/), expect.stringMatching(/usage_report\.timezone: not an IANA time zone/)]),
    );
  });

  it('a token variable that is not set stops the start with its name, never a value', () => {
    expect(() => new ConfluenceClient(config(), { env: {} })).toThrow('integrations.confluence token: environment variable CONFLUENCE_TOKEN is not set');
  });
});
