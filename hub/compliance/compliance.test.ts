import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeElasticsearch } from '../../test/harness/fake-elasticsearch.js';
import { waitFor } from '../../test/harness/ports.js';
import { parseConfigText, validateConfigText } from '../../shared/config/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { AuditLog } from '../audit/index.js';
import { hubConfigSchema } from '../config/index.js';
import { effectiveAudit } from './index.js';

const DAY = 86_400_000;
const T0 = Date.parse('2019-01-01T10:00:00Z');
const BASE = 'tls: { ca: a, cert: b, key: c }\n';
const ES = 'audit: { ship: { elasticsearch: { url: "http://127.0.0.1:9" } } }\n';
const parse = (text: string) => parseConfigText(hubConfigSchema, BASE + text, 'hub.yaml');
const problems = (text: string) => validateConfigText(hubConfigSchema, BASE + text, 'hub.yaml');

const cancel = (id: number) => ({ action: 'jobs:cancel', resource: `job prod-a/${id}`, outcome: 'success' as const, status: 200, user: 'alice', source_ip: '10.0.0.7', transport: 'http' as const, required: true });
const readJob = (user = 'alice') => ({ action: 'jobs:read', resource: 'job prod-a/1', outcome: 'success' as const, status: 200, user, transport: 'http' as const });

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** An audit log of the hub configured by `yaml`, the compliance presets applied as `sfleet hub` does, on an injected clock. */
async function hubAudit(yaml: string, url?: string) {
  const dir = mkdtempSync(join(tmpdir(), `compliance-${process.pid}-`));
  const config = parse(yaml.replace('URL', url ?? ''));
  const clock = { now: T0 };
  const audited = effectiveAudit({ ...config.audit, dir }, config.compliance);
  const log = new AuditLog(audited.config, { hubId: 'hub-1', dataDir: dir, logger: silentLogger(), now: () => clock.now, floors: audited.floors, checkIntervalMs: 3_600_000 });
  await log.open();
  closers.unshift(() => log.close());
  const files = () => readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
  return { log, clock, files, audited };
}

describe('compliance: the brief block loads and each key acts', () => {
  it('loads the brief\'s block (with the elasticsearch shipping it names) and keeps every value', () => {
    const c = parse(ES + 'compliance:\n  frameworks: ["sox", "gdpr", "hipaa", "soc2"]\n  audit:\n    enabled: true\n    backend: "elasticsearch"\n    retention_days: 2555\n    fields: ["user", "action", "resource", "timestamp", "ip"]\n').compliance;
    expect(c).toEqual({ frameworks: ['sox', 'gdpr', 'hipaa', 'soc2'], audit: { enabled: true, backend: 'elasticsearch', retention_days: 2555, fields: ['user', 'action', 'resource', 'timestamp', 'ip'] } });
  });

  it('refuses what cannot be honoured, naming the key and what to do', () => {
    expect(problems('compliance: { audit: { enabled: false } }\n')).toEqual([expect.stringMatching(/compliance\.audit\.enabled: the audit log cannot be turned off/)]);
    expect(problems('compliance: { audit: { backend: elasticsearch } }\n')).toEqual([expect.stringMatching(/compliance\.audit\.backend: "elasticsearch" is the audit log's shipping: configure audit\.ship\.elasticsearch/)]);
    expect(problems('compliance: { audit: { fields: [user] } }\n')).toEqual([expect.stringMatching(/compliance\.audit\.fields: fields choose what a backend is sent, and backend "file" sends nothing/)]);
    expect(problems('compliance: { frameworks: [pci] }\n')).toEqual([expect.stringMatching(/compliance\.frameworks\.0: /)]);
    expect(problems('compliance: { gdpr: { pseudonym_key_env: K } }\n')).toEqual([expect.stringMatching(/compliance\.gdpr: the pseudonym key is used with the gdpr framework/)]);
  });
});

describe('frameworks raise the audit settings, never lower them', () => {
  it('sox: a site retention of 90 days becomes 2555, and files are kept that long (injected clock)', async () => {
    const { log, clock, files, audited } = await hubAudit('audit: { retention_days: 90 }\ncompliance: { frameworks: [sox] }\n');
    expect(audited.config.retention_days).toBe(2555);
    for (let d = 0; d < 3; d++) {
      await log.record(cancel(d));
      clock.now += DAY;
    }
    // 100 days on: past the site's 90, well inside SOX's seven years. Nothing goes.
    clock.now = T0 + 100 * DAY;
    await log.record(cancel(10));
    expect((await log.applyRetention())?.deleted ?? []).toEqual([]);
    expect(files()).toHaveLength(4);
    // Past 2555 days the first day's file goes, and the marker names the raised retention.
    clock.now = T0 + 2556 * DAY;
    await log.record(cancel(11));
    expect((await log.applyRetention())?.deleted).toEqual(['audit-20190101-0001.jsonl']);
    expect(log.query({ action: 'audit:retention', limit: 1 }).items[0]).toMatchObject({ reason: 'older than retention_days (2555)' });
  });

  it('without sox the site\'s 90 days prune at 91; a longer site retention is never lowered', async () => {
    const { log, clock } = await hubAudit('audit: { retention_days: 90 }\n');
    await log.record(cancel(1));
    clock.now = T0 + 91 * DAY;
    await log.record(cancel(2));
    expect((await log.applyRetention())?.deleted).toEqual(['audit-20190101-0001.jsonl']);
    expect(effectiveAudit(parse('audit: { retention_days: 3650 }\n').audit, parse('compliance: { frameworks: [sox], audit: { retention_days: 400 } }\n').compliance).config.retention_days).toBe(3650);
    expect(effectiveAudit(parse('audit: { retention_days: 30 }\n').audit, parse('compliance: { audit: { retention_days: 400 } }\n').compliance).config.retention_days).toBe(400);
  });

  it('hipaa: reading a job is recorded even where the site\'s rules say None; a Request rule is kept', async () => {
    const plain = await hubAudit('audit: { rules: [{ level: None, actions: ["jobs:*"] }] }\n');
    expect(await plain.log.record(readJob())).toBeUndefined();
    const hipaa = await hubAudit('audit: { rules: [{ level: None, actions: ["jobs:*"] }, { level: None, actions: ["*:read"] }] }\ncompliance: { frameworks: [hipaa] }\n');
    expect(await hipaa.log.record(readJob())).toMatchObject({ action: 'jobs:read', user: 'alice', level: 'Metadata' });
    // Only job data: other reads still follow the site's rules.
    expect(await hipaa.log.record({ ...readJob(), action: 'nodes:read' })).toBeUndefined();
    const verbose = await hubAudit('audit: { rules: [{ level: Request, actions: ["jobs:*"] }] }\ncompliance: { frameworks: [hipaa] }\n');
    expect(await verbose.log.record(readJob())).toMatchObject({ level: 'Request' });
  });

  it('fields: Elasticsearch gets only the chosen fields (ip is source_ip) and the id; the local file keeps all', async () => {
    const fake = await new FakeElasticsearch().start();
    closers.push(() => fake.close());
    const { log } = await hubAudit('audit: { ship: { elasticsearch: { url: "URL" }, flush_interval: 10ms } }\ncompliance: { audit: { backend: elasticsearch, fields: [user, action, timestamp, ip] } }\n', fake.url);
    const rec = await log.record(cancel(7));
    await waitFor('the record in Elasticsearch', () => fake.docs.size === 1);
    const doc = [...fake.docs.values()][0];
    expect(Object.keys(doc).sort()).toEqual(['@timestamp', 'action', 'id', 'source_ip', 'timestamp', 'user']);
    expect(doc).toMatchObject({ id: rec!.id, user: 'alice', action: 'jobs:cancel', source_ip: '10.0.0.7' });
    expect(log.query({ limit: 10 }).items.find((r) => r.id === rec!.id)).toMatchObject({ resource: 'job prod-a/7', outcome: 'success', hash: expect.any(String) });
  });
});
