import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { WriteFaults } from '../../shared/durability/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { createAgentHealth } from './agent-health.js';
import { healthRegistry } from './health-metrics.js';

describe('agent health', () => {
  it('says degraded with the reason while the spool cannot write, and counts the failed writes', async () => {
    const faults = new WriteFaults({ logger: silentLogger() });
    const spool = { unspooled: false, unackedBytes: 0 };
    const h = createAgentHealth({ faults, spool, durableDirs: [tmpdir()] });
    expect(h.health()).toEqual({ status: 'ok', reasons: [] });
    faults.failed('spool', Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' }));
    faults.failed('spool', Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' }));
    spool.unspooled = true;
    const degraded = h.health();
    expect(degraded.status).toBe('degraded');
    expect(degraded.reasons[0]).toMatch(/^spool: EROFS since .*read-only file system/);
    const text = await healthRegistry({ faults, spool, durableDirs: [tmpdir()] }).metrics();
    expect(text).toMatch(/^sfleet_agent_spool_write_errors_total 2$/m);
    expect(text).toMatch(/^sfleet_agent_spool_unspooled 1$/m);
    expect(text).toMatch(new RegExp(`^sfleet_durable_dir_free_bytes\\{dir="${tmpdir()}"\\} [1-9]`, 'm'));
    faults.ok('spool');
    spool.unspooled = false;
    expect(h.health().status).toBe('ok');
  });
});
