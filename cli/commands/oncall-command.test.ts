import { describe, expect, it } from 'vitest';
import { localTime, oncallRows } from './oncall-command.js';

describe('sfleet oncall', () => {
  it('shows hand-offs in the schedule\'s own zone, summer and winter time alike', () => {
    expect(localTime('2026-03-30T07:00:00.000Z', 'Europe/Berlin')).toBe('Mon 2026-03-30 09:00 CEST');
    expect(localTime('2026-03-23T08:00:00.000Z', 'Europe/Berlin')).toBe('Mon 2026-03-23 09:00 CET');
    const rows = oncallRows([{ name: 'hpc', time_zone: 'Europe/Berlin', handoff: { day: 'monday', time: '09:00' }, users: ['ana', 'ben'], on_call: 'dora', override_until: '2026-03-25T06:00:00.000Z', next_handoffs: [{ at: '2026-03-30T07:00:00.000Z', from: 'ana', to: 'ben' }] }]);
    expect(rows).toEqual([
      { schedule: 'hpc', when: 'now', local: '', on_call: 'dora', note: 'override until Wed 2026-03-25 07:00 CET' },
      { schedule: 'hpc', when: '2026-03-30T07:00:00.000Z', local: 'Mon 2026-03-30 09:00 CEST', on_call: 'ben', note: 'hand-off from ana' },
    ]);
  });
});
