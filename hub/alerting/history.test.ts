// `sfleet alerts history`: a resolved alert with its timeline (fired, notified, acknowledged,
// resolved), kept across a hub restart in the data directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { Alerting } from './alerting.js';
import { config, Fleet, Recorder } from './fleet-fixture.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function hubAt(dir: string, clock: ManualClock, rec: Recorder) {
  const c = config({ policies: { critical: { escalation_time: '5m', channels: ['pagerduty', 'email'] } }, group_wait: 0, resolve_timeout: '1h' });
  return new Alerting(c, { state: new Fleet(clock).state, logger, clock, region: 'eu', dataDir: dir, notifiers: rec.factory, sleep: async () => undefined });
}

describe('alert history', () => {
  it('a resolved alert shows when it fired, each notification, the acknowledgement and the resolve, across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfleet-history-'));
    dirs.push(dir);
    const clock = new ManualClock(Date.parse('2026-05-04T12:00:00Z'));
    const rec = new Recorder();
    const first = hubAt(dir, clock, rec);
    first.receive([{ labels: { alertname: 'GpuXidErrors', severity: 'critical', cluster: 'c1' }, annotations: { summary: 'XID 79 on gpu07' } }], 'prometheus');
    await first.idle();
    const [alert] = first.list({ state: 'firing' });
    expect(first.listHistory({})).toEqual([]); // not resolved yet
    await first.close();

    const second = hubAt(dir, clock, rec); // restarted mid-episode
    clock.advance(60_000);
    second.ack(alert.fingerprint, 'ana');
    await second.idle();
    clock.advance(60_000);
    second.resolve(alert.fingerprint, 'ben');
    await second.idle();
    const [h] = second.listHistory({});
    expect(h).toMatchObject({ fingerprint: alert.fingerprint, labels: { alertname: 'GpuXidErrors', cluster: 'c1' }, summary: 'XID 79 on gpu07', fired_at: '2026-05-04T12:00:00.000Z', acknowledged_at: '2026-05-04T12:01:00.000Z', acknowledged_by: 'ana', resolved_at: '2026-05-04T12:02:00.000Z', resolved_by: 'ben' });
    const steps = h.timeline.map((e) => [e.what, e.channel ?? e.by ?? '', e.status ?? '', e.outcome ?? '']).sort((a, b) => a.join().localeCompare(b.join()));
    expect(steps).toEqual([
      ['acknowledged', 'ana', '', ''],
      ['fired', '', '', ''],
      ['notified', 'email', 'acknowledged', 'delivered'],
      ['notified', 'email', 'firing', 'delivered'],
      ['notified', 'email', 'resolved', 'delivered'],
      ['notified', 'pagerduty', 'acknowledged', 'delivered'],
      ['notified', 'pagerduty', 'firing', 'delivered'],
      ['notified', 'pagerduty', 'resolved', 'delivered'],
      ['resolved', 'ben', '', ''],
    ]);
    expect(h.timeline[0].what).toBe('fired');
    await second.close();
    // Read back from history.json by a third start; a cluster filter that matches nothing.
    const third = hubAt(dir, clock, rec);
    expect(third.listHistory({}).map((x) => x.fingerprint)).toEqual([alert.fingerprint]);
    expect(third.listHistory({ cluster: 'c2' })).toEqual([]);
    await third.close();
  });

  it('a damaged history file loses the history, not the hub', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfleet-history-'));
    dirs.push(dir);
    const clock = new ManualClock();
    const rec = new Recorder();
    const first = hubAt(dir, clock, rec);
    first.receive([{ labels: { alertname: 'A', severity: 'critical', cluster: 'c1' }, annotations: { summary: 'a' } }], 'p');
    await first.idle();
    await first.close();
    writeFileSync(join(dir, 'alerting', 'history.json'), '[{"fingerprint": "torn');
    const second = hubAt(dir, clock, rec);
    expect(second.listHistory({})).toEqual([]);
    second.resolve(second.list({ state: 'firing' })[0].fingerprint, 'ana');
    await second.idle();
    expect(second.listHistory({}).map((h) => h.resolved_by)).toEqual(['ana']);
    await second.close();
  });
});
