import { describe, expect, it } from 'vitest';
import type { ControllerHealth } from '../../../shared/model/index.js';
import { parseSlurmResponse } from '../../normalize/response.js';
import { SlurmctldWatch, slurmctldUnreachable } from './controller-events.js';

function ctl(hostname: string, mode: string, responding: boolean): ControllerHealth {
  return { cluster: 'c1', hostname, mode, responding, api_version: 'v0.0.41', slurm_version: '24.05.3' };
}

function watch() {
  let n = 0;
  return new SlurmctldWatch({ cluster: 'c1', clock: () => Date.parse('2026-03-01T12:00:00Z'), newId: () => `s${++n}` });
}

describe('SlurmctldWatch (what ping says about slurmctld)', () => {
  it('takes the first observation as the baseline: no events after an agent restart', () => {
    expect(watch().observe([ctl('ctl1', 'primary', false), ctl('ctl2', 'backup', true)])).toEqual([]);
  });

  it('the primary stops responding and the backup takes over: down, then failover; back again: up, then failover to the primary', () => {
    const w = watch();
    w.observe([ctl('ctl1', 'primary', true), ctl('ctl2', 'backup', true)]);
    expect(w.observe([ctl('ctl1', 'primary', true), ctl('ctl2', 'backup', true)])).toEqual([]);
    const down = w.observe([ctl('ctl1', 'primary', false), ctl('ctl2', 'backup', true)]);
    expect(down).toEqual([
      {
        id: 's1',
        cluster: 'c1',
        type: 'controller_down',
        severity: 'warning',
        message: 'slurmctld ctl1 (primary) is not responding',
        occurred_at: '2026-03-01T12:00:00.000Z',
        attributes: { component: 'slurmctld', controller: 'ctl1', mode: 'primary', reason: 'ping: not responding' },
      },
      {
        id: 's2',
        cluster: 'c1',
        type: 'controller_failover',
        severity: 'warning',
        message: 'slurmctld in charge moved from ctl1 to ctl2: ctl1 is not responding; backup ctl2 took over',
        occurred_at: '2026-03-01T12:00:00.000Z',
        attributes: { component: 'slurmctld', from_controller: 'ctl1', to_controller: 'ctl2', reason: 'ctl1 is not responding; backup ctl2 took over' },
      },
    ]);
    expect(w.observe([ctl('ctl1', 'primary', false), ctl('ctl2', 'backup', true)])).toEqual([]);
    const back = w.observe([ctl('ctl1', 'primary', true), ctl('ctl2', 'backup', true)]);
    expect(back.map((e) => [e.type, e.severity, e.attributes.controller ?? `${e.attributes.from_controller}->${e.attributes.to_controller}`])).toEqual([
      ['controller_up', 'info', 'ctl1'],
      ['controller_failover', 'info', 'ctl2->ctl1'],
    ]);
  });

  it('a lone controller going away is critical; the takeover after a gap is still a failover from the last one in charge', () => {
    const w = watch();
    w.observe([ctl('ctl1', 'primary', true), ctl('ctl2', 'backup', false)]);
    const down = w.observe([ctl('ctl1', 'primary', false), ctl('ctl2', 'backup', false)]);
    expect(down.map((e) => [e.type, e.severity])).toEqual([['controller_down', 'critical']]);
    const takeover = w.observe([ctl('ctl1', 'primary', false), ctl('ctl2', 'backup', true)]);
    expect(takeover.map((e) => [e.type, e.attributes.from_controller ?? e.attributes.controller, e.attributes.to_controller ?? ''])).toEqual([
      ['controller_up', 'ctl2', ''],
      ['controller_failover', 'ctl1', 'ctl2'],
    ]);
  });

  it('orders by mode, not by list position, and ignores an empty list', () => {
    const w = watch();
    w.observe([ctl('ctl2', 'backup', true), ctl('ctl1', 'primary', true)]);
    expect(w.observe([])).toEqual([]);
    const events = w.observe([ctl('ctl2', 'backup', true), ctl('ctl1', 'primary', false)]);
    expect(events.map((e) => e.type)).toEqual(['controller_down', 'controller_failover']);
  });
});

describe('slurmctldUnreachable (a 5xx that means slurmctld is down)', () => {
  const failure = (status: number, type: string, text: string) => {
    try {
      parseSlurmResponse(status, type, text, 'ping');
    } catch (err) {
      return err;
    }
    throw new Error('expected a refusal');
  };

  it("is slurmrestd's 500 with Slurm's own errors while slurmctld is away", () => {
    const body = JSON.stringify({ errors: [{ error_number: 1, error: 'Unspecified error', description: 'slurmctld config is unable to load' }] });
    expect(slurmctldUnreachable(failure(500, 'application/json', body))).toBe(true);
  });

  it('is not a refused JWT, whether slurmrestd says so with error 1007 or in plain text: an expired token must not page the cluster as down', () => {
    const json = JSON.stringify({ errors: [{ error_number: 1007, error: 'Protocol authentication error' }] });
    expect(slurmctldUnreachable(failure(500, 'application/json', json))).toBe(false);
    expect(slurmctldUnreachable(failure(500, 'text/plain', 'Authentication does not apply to request'))).toBe(false);
    expect(slurmctldUnreachable(failure(401, 'text/plain', 'Authentication failure'))).toBe(false);
  });
});
