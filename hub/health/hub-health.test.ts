import { describe, expect, it } from 'vitest';
import { WriteFaults } from '../../shared/durability/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { hubHealth } from './hub-health.js';

describe('/healthz of a clustered hub', () => {
  it('is degraded while etcd is out of reach, naming etcd and the security store answering from its last copy', () => {
    let etcd = 'unreachable: 14 UNAVAILABLE: No connection established';
    const securityStore = { connected: false, pending: 2 };
    const health = hubHealth({ faults: new WriteFaults({ logger: silentLogger() }), etcd: () => etcd, securityStore });
    expect(health()).toEqual({
      status: 'degraded',
      reasons: [
        'etcd: unreachable: 14 UNAVAILABLE: No connection established',
        "security store: etcd cannot be reached; logins, tokens and revocations answer from this hub's last copy (2 changes wait to be written)",
      ],
    });
    etcd = 'ok';
    securityStore.connected = true;
    expect(health()).toEqual({ status: 'ok', reasons: [] });
  });

  it('is degraded while this hub cannot follow the group key version, naming the version and why; ok once it has', () => {
    const versions: { group?: number; error?: string } = { group: 3, error: 'file key kr-1 has no version 3 (its newest is v2): every hub of the group must read the same keyring' };
    const health = hubHealth({ faults: new WriteFaults({ logger: silentLogger() }), keys: { versions: () => versions } });
    expect(health()).toEqual({ status: 'degraded', reasons: ["keys: this hub's sealed files are not yet re-wrapped to the group's key version v3 (retried at each check): file key kr-1 has no version 3 (its newest is v2): every hub of the group must read the same keyring"] });
    delete versions.error;
    expect(health()).toEqual({ status: 'ok', reasons: [] });
  });
});
