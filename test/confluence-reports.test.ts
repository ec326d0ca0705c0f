// Issue 19 item 4 on a real hub: integrations.confluence writes the monthly usage report and a
// post-incident page when a critical alert resolves, to a local Confluence that checks every
// request as Atlassian documents it (test/harness/confluence-receiver.ts). Pages are filed under
// the configured parent, each written once: a hub killed and restarted finds its pages by title
// and writes no second one. Every page is audited and counted; the token is in no log.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSecret } from '../scripts/test/run-dir.js';
import { ConfluenceReceiver, wellFormed } from './harness/confluence-receiver.js';
import { httpsCall } from './harness/hub-child.js';
import { makePki, type TestPki } from './harness/pki.js';
import { StandaloneHub } from './harness/standalone-hub.js';
import { waitFor } from './harness/wait.js';

const TOKEN = 'confluence-api-token-5b1d9e7a3c';
let wiki: ConfluenceReceiver;
let pki: TestPki;
let hub: StandaloneHub;
let work: string;

const post = (path: string, body: unknown) => httpsCall(`${hub.url}${path}`, { method: 'POST', body, ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 20_000 });
const usagePages = () => [...wiki.pages.values()].filter((p) => p.title.startsWith('sfleet usage '));
const incidentPages = () => [...wiki.pages.values()].filter((p) => p.title.startsWith('Incident '));

beforeAll(async () => {
  registerSecret(TOKEN, 'Confluence API token (confluence-reports test)');
  wiki = await new ConfluenceReceiver(['OPS'], { user: 'reports@example.org', token: TOKEN }).start();
  wiki.seed('OPS', 'HPC fleet reports');
  pki = await makePki('confluence.test');
  work = mkdtempSync(join(tmpdir(), 'sfleet-confluence-'));
  const tokenFile = join(work, 'confluence-token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  hub = new StandaloneHub(join(work, 'hub'), pki, {
    region: 'north',
    rbac: { bindings: [{ client: 'tester', role: 'admin' }] },
    alerting: { evaluation_interval: '1s', group_wait: '0s' },
    integrations: {
      confluence: {
        url: `${wiki.url}/wiki`,
        space: 'OPS',
        parent_page: 'HPC fleet reports',
        username: 'reports@example.org',
        token_file: tokenFile,
        // Every 4 s, so the test sees a firing; each firing reports the month before it.
        usage_report: { schedule: '*/4 * * * * *' },
        incident_pages: { severities: ['critical'] },
      },
    },
  });
  await hub.start();
}, 120_000);

afterAll(async () => {
  await hub?.stop();
  await wiki?.close();
});

describe('Confluence reports from a real hub', () => {
  it('the usage report of last month and a page per resolved critical incident, under the parent, once each, across a crash', async () => {
    const now = new Date();
    const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const title = `sfleet usage ${last.toISOString().slice(0, 7)} (north)`;
    await waitFor('the usage report page', () => !!wiki.byTitle(title), 30_000, 200);
    const parent = wiki.byTitle('HPC fleet reports')!;
    expect(wiki.byTitle(title)).toMatchObject({ space: 'OPS', parentId: parent.id });
    expect(wiki.byTitle(title)!.storage).toContain('region <strong>north</strong>');
    expect(wellFormed(wiki.byTitle(title)!.storage)).toBeUndefined();

    // A critical alert through the Alertmanager intake, resolved: one incident page; a warning: none.
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const labels = { alertname: 'SlurmctldDown', severity: 'critical', cluster: 'atlas' };
    expect((await post('/api/v2/alerts', [{ labels, annotations: { summary: 'slurmctld on atlas does not answer' }, startsAt }, { labels: { alertname: 'DiskSlow', severity: 'warning', cluster: 'atlas' }, startsAt }])).status).toBe(200);
    await waitFor('the alert fired', async () => JSON.stringify((await hub.get('/api/v1/alerts', { clientCert: true })).json).includes('SlurmctldDown'), 20_000, 200);
    const endsAt = new Date().toISOString();
    expect((await post('/api/v2/alerts', [{ labels, annotations: { summary: 'slurmctld on atlas does not answer' }, startsAt, endsAt }, { labels: { alertname: 'DiskSlow', severity: 'warning', cluster: 'atlas' }, startsAt, endsAt }])).status).toBe(200);
    await waitFor('the incident page', () => incidentPages().length === 1, 40_000, 200);
    const incident = incidentPages()[0];
    expect(incident.title).toMatch(/^Incident \d{4}-\d\d-\d\d \d\d:\d\d UTC: SlurmctldDown on atlas \([0-9a-f]{8}\)$/);
    expect(incident).toMatchObject({ space: 'OPS', parentId: parent.id, version: 1 });
    expect(incident.storage).toContain('<strong>slurmctld on atlas does not answer</strong>');
    expect(incident.storage).toContain('<tr><th>Affected clusters</th><td>atlas</td></tr>');
    expect(incident.storage).toMatch(/<td>fired<\/td>[\s\S]*<td>resolved<\/td>/);

    const counted = (await hub.get('/metrics', { clientCert: true })).body;
    expect(counted).toMatch(/sfleet_confluence_pages_total\{kind="incident",outcome="created"\} 1/);
    expect(counted).toMatch(/sfleet_confluence_pages_total\{kind="usage",outcome="failed"\} 0/);

    // Killed and restarted: no second usage page, the incident page is not written again.
    await hub.kill('SIGKILL');
    const before = wiki.requests.filter((r) => r.method === 'POST').length;
    const puts = wiki.requests.filter((r) => r.method === 'PUT').length;
    await hub.start();
    await waitFor('a report after the restart', () => wiki.requests.filter((r) => r.method === 'PUT').length > puts, 30_000, 200);
    await new Promise((r) => setTimeout(r, 12_000));
    expect(usagePages()).toHaveLength(1);
    expect(incidentPages()).toHaveLength(1);
    expect(incidentPages()[0].version).toBe(1);
    expect(wiki.requests.filter((r) => r.method === 'POST').length).toBe(before);
    expect(wiki.refused).toEqual([]);

    // Audited, counted, and the token is in no log or audit record.
    const audit = await hub.get('/api/v1/audit?action=reports:publish', { clientCert: true });
    const records = audit.json.items as { outcome: string; resource: string; user: string | null }[];
    expect(records.some((r) => r.outcome === 'success' && r.resource.startsWith('incident: confluence page'))).toBe(true);
    expect(records.some((r) => r.outcome === 'success' && r.resource.includes(title))).toBe(true);
    const metrics = (await hub.get('/metrics', { clientCert: true })).body;
    expect(metrics).toMatch(/sfleet_confluence_pages_total\{kind="usage",outcome="updated"\} [1-9]/);
    expect(readFileSync(hub.logFile, 'utf8')).not.toContain(TOKEN);
    expect(JSON.stringify(records)).not.toContain(TOKEN);
  }, 150_000);
});
