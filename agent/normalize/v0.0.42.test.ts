import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterFor } from './index.js';

const load = (path: string): unknown => JSON.parse(readFileSync(new URL(`./testdata/${path}`, import.meta.url), 'utf8'));

describe('v0.0.42 ping (responding / primary booleans)', () => {
  it('one ControllerHealth per controller, the booleans win over pinged/mode', () => {
    const pings = adapterFor('v0.0.42').ping(load('v0.0.42/ping.json'), 'prod-e');
    expect(pings.map((p) => [p.hostname, p.responding, p.mode, p.latency_ms, p.api_version, p.slurm_version])).toEqual([
      ['ctl-a', true, 'primary', 3.761, 'v0.0.42', '24.11.5'],
      ['ctl-b', false, 'backup', 2000, 'v0.0.42', '24.11.5'],
    ]);
    expect(pings.every((p) => p.cluster === 'prod-e')).toBe(true);
  });

  it('v0.0.41 reads the same answer from the deprecated pinged/mode fields', () => {
    const pings = adapterFor('v0.0.41').ping(load('v0.0.42/ping.json'), 'prod-e');
    expect(pings.map((p) => [p.responding, p.mode])).toEqual([
      [true, 'primary'],
      [false, 'backup'],
    ]);
  });
});
