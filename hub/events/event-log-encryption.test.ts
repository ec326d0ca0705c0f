import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtRest, readPrefix } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { EventLog } from './event-log.js';

const logger = silentLogger();
const event = (id: string) => ({ id, cluster: 'c1', type: 'controller_down', severity: 'critical', message: `slurmctld on secret-host-${id} down`, occurred_at: '2026-03-01T11:00:00.000Z', attributes: {} });

describe('EventLog with encryption at rest', () => {
  it('upgrades a plaintext events.log on open, seals new events, and reads them all back after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `events-enc-${process.pid}-`));
    const plain = new EventLog({ dataDir }, { logger });
    plain.record('c1', [event('e1')]);
    plain.close();
    const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(dataDir, '..', `keyring-${process.pid}-${Date.now()}.json`) } });
    const sealed = new EventLog({ dataDir }, { logger, atRest });
    expect(sealed.list().map((e) => e.id)).toEqual(['e1']);
    sealed.record('c1', [event('e2')]);
    sealed.close();
    const path = join(dataDir, 'events', 'events.log');
    expect(readPrefix(path)?.header.purpose).toBe('hub/events');
    expect(readFileSync(path).includes(Buffer.from('secret-host'))).toBe(false);
    const again = new EventLog({ dataDir }, { logger, atRest });
    expect(again.list().map((e) => e.message)).toEqual(['slurmctld on secret-host-e1 down', 'slurmctld on secret-host-e2 down']);
    again.close();
    // Encryption turned off again: a clear refusal, not an empty list.
    expect(() => new EventLog({ dataDir }, { logger })).toThrow(/events\.log is encrypted: enable encryption/);
  });
});
