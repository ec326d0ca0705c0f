import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FleetEvent } from '../../generated/fleet/v1/agent.js';
import { silentLogger } from '../../shared/logging/index.js';
import { EventLog, parseSince } from './event-log.js';

const logger = silentLogger();
const NOW = Date.parse('2026-03-01T12:00:00Z');

function event(id: string, extra: Partial<FleetEvent> = {}): FleetEvent {
  return { id, cluster: 'c1', type: 'controller_failover', severity: 'warning', message: `m ${id}`, occurred_at: '2026-03-01T11:00:00.000Z', attributes: { from_endpoint: 'http://a:6820', to_endpoint: 'http://b:6820' }, ...extra };
}

describe('EventLog', () => {
  it('records, dedupes by id, keeps the stream\'s cluster and tells subscribers once', () => {
    const log = new EventLog({}, { logger, clock: () => NOW });
    const seen: string[] = [];
    log.subscribe((e) => seen.push(e.id));
    expect(log.record('c1', [event('e1'), event('e1')]).map((e) => e.id)).toEqual(['e1']);
    expect(log.record('c1', [event('e1'), event('e2', { cluster: 'someone-else', severity: 'bogus' })]).map((e) => e.id)).toEqual(['e2']);
    expect(seen).toEqual(['e1', 'e2']);
    expect(log.list()).toEqual([
      { id: 'e1', cluster: 'c1', type: 'controller_failover', severity: 'warning', message: 'm e1', occurred_at: '2026-03-01T11:00:00.000Z', received_at: '2026-03-01T12:00:00.000Z', attributes: { from_endpoint: 'http://a:6820', to_endpoint: 'http://b:6820' } },
      expect.objectContaining({ id: 'e2', cluster: 'c1', severity: 'info' }),
    ]);
  });

  it('filters by cluster, type and since, and limits to the newest', () => {
    const log = new EventLog({}, { logger, clock: () => NOW });
    log.record('c1', [event('a', { type: 'controller_down', occurred_at: '2026-03-01T10:00:00Z' })]);
    log.record('c2', [event('b', { type: 'controller_failover', occurred_at: '2026-03-01T11:00:00Z' })]);
    log.record('c1', [event('c', { type: 'controller_up', occurred_at: '2026-03-01T11:30:00Z' })]);
    expect(log.list({ cluster: 'c1' }).map((e) => e.id)).toEqual(['a', 'c']);
    expect(log.list({ types: ['controller_down', 'controller_up'] }).map((e) => e.id)).toEqual(['a', 'c']);
    expect(log.list({ sinceMs: Date.parse('2026-03-01T11:00:00Z') }).map((e) => e.id)).toEqual(['b', 'c']);
    expect(log.list({ limit: 2 }).map((e) => e.id)).toEqual(['b', 'c']);
  });

  it('survives a restart, still dedupes after it, and stays bounded on disk and in memory', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'events-'));
    const a = new EventLog({ dataDir, capacity: 3 }, { logger, clock: () => NOW });
    a.record('c1', [event('e1')]);
    a.record('c1', [event('e2'), event('e3')]);
    a.close();
    const b = new EventLog({ dataDir, capacity: 3 }, { logger, clock: () => NOW });
    expect(b.list().map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
    expect(b.record('c1', [event('e3')])).toEqual([]);
    for (let i = 4; i <= 10; i++) b.record('c1', [event(`e${i}`)]);
    expect(b.list().map((e) => e.id)).toEqual(['e8', 'e9', 'e10']);
    b.close();
    const c = new EventLog({ dataDir, capacity: 3 }, { logger, clock: () => NOW });
    expect(c.list().map((e) => e.id)).toEqual(['e8', 'e9', 'e10']);
    c.close();
  });
});

describe('parseSince', () => {
  it('takes an ISO time or a duration back from now', () => {
    expect(parseSince('2026-03-01T11:00:00Z', NOW)).toBe(Date.parse('2026-03-01T11:00:00Z'));
    expect(parseSince('90m', NOW)).toBe(NOW - 90 * 60_000);
    expect(parseSince('1h30m', NOW)).toBe(NOW - 90 * 60_000);
    expect(parseSince('yesterday', NOW)).toBeUndefined();
    expect(parseSince('2026-13-45', NOW)).toBeUndefined();
  });
});

describe('EventLog under storage faults', () => {
  it('events.log deleted or truncated under the hub is rewritten from memory at the next check, and counted', async () => {
    const { WriteFaults } = await import('../../shared/durability/index.js');
    const { rmSync, truncateSync, statSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'events-faults-'));
    const faults = new WriteFaults({ logger });
    const log = new EventLog({ dataDir: dir }, { logger, clock: () => NOW, faults });
    log.record('c1', [event('e1'), event('e2')]);
    const path = join(dir, 'events', 'events.log');
    rmSync(path);
    log.maintain();
    expect(faults.errorCounts().get('events')).toBe(1);
    expect(faults.degraded()).toEqual([]);
    log.record('c1', [event('e3')]);
    truncateSync(path, statSync(path).size - 3);
    log.maintain();
    expect(faults.errorCounts().get('events')).toBe(2);
    log.maintain(); // whole again: nothing to do
    expect(faults.errorCounts().get('events')).toBe(2);
    log.close();
    const reopened = new EventLog({ dataDir: dir }, { logger });
    expect(reopened.list().map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
    reopened.close();
  });

  it('events of a delta that cannot be written are shown at once, refused to the caller, and written once the disk works', async () => {
    const { WriteFaults } = await import('../../shared/durability/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'events-unsaved-'));
    const faults = new WriteFaults({ logger });
    const log = new EventLog({ dataDir: dir }, { logger, clock: () => NOW, faults });
    log.record('c1', [event('e1')]);
    // The disk is full (the integration test fills a real tmpfs; here the log's writes fail).
    const file = (log as unknown as { log: { append: (...b: Buffer[]) => void; rewrite: (r: Buffer[]) => void } }).log;
    const { append, rewrite } = file;
    const enospc = () => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    file.append = enospc;
    file.rewrite = enospc;
    const heard: string[] = [];
    log.subscribe((e) => heard.push(e.id));
    expect(() => log.record('c1', [event('e2')], { epoch: 1, seq: 2 })).toThrow(/ENOSPC/);
    expect(log.list().map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(heard).toEqual(['e2']);
    expect(faults.degraded().map((f) => f.store)).toEqual(['events']);
    // The delta's resend: its events are known, but still not durable.
    expect(() => log.record('c1', [event('e2')], { epoch: 1, seq: 2 })).toThrow(/ENOSPC/);
    log.maintain();
    expect(faults.degraded().map((f) => f.store)).toEqual(['events']);
    file.append = append;
    file.rewrite = rewrite;
    // The resend once the disk works: written (a rewrite from memory), no error, nothing twice.
    expect(log.record('c1', [event('e2')], { epoch: 1, seq: 2 })).toEqual([]);
    expect(faults.degraded()).toEqual([]);
    expect(heard).toEqual(['e2']);
    log.close();
    const reopened = new EventLog({ dataDir: dir }, { logger });
    expect(reopened.list().map((e) => e.id)).toEqual(['e1', 'e2']);
    reopened.close();
  });
});
