import { describe, expect, it } from 'vitest';
import { SlurmResponseError } from '../../shared/errors/index.js';
import { SUPPORTED_VERSIONS, adapterFor } from './index.js';

describe('adapterFor', () => {
  it('knows v0.0.38 to v0.0.44, oldest first', () => {
    expect(SUPPORTED_VERSIONS).toEqual(['v0.0.38', 'v0.0.39', 'v0.0.40', 'v0.0.41', 'v0.0.42', 'v0.0.43', 'v0.0.44']);
    for (const v of SUPPORTED_VERSIONS) expect(adapterFor(v).version).toBe(v);
  });

  it('accepts the version without its "v"', () => {
    expect(adapterFor('0.0.41').version).toBe('v0.0.41');
  });

  it('refuses other versions with a clear message', () => {
    expect(() => adapterFor('v0.0.45')).toThrow(SlurmResponseError);
    expect(() => adapterFor('v0.0.45')).toThrow(
      'unsupported slurmrestd API version "v0.0.45": supported are v0.0.38, v0.0.39, v0.0.40, v0.0.41, v0.0.42, v0.0.43, v0.0.44',
    );
    expect(() => adapterFor('')).toThrow(SlurmResponseError);
    expect(() => adapterFor('constructor')).toThrow(SlurmResponseError);
  });
});

describe('every adapter', () => {
  it('sets the cluster and the identity on every object kind', () => {
    for (const v of SUPPORTED_VERSIONS) {
      const a = adapterFor(v);
      expect(a.nodes({ nodes: [{ name: 'n1' }] }, 'x')[0]).toMatchObject({ cluster: 'x', name: 'n1', state: 'UNKNOWN' });
      expect(a.reservations({ reservations: [{ name: 'r' }] }, 'x')[0]).toMatchObject({ cluster: 'x', name: 'r' });
      expect(a.accounts({ accounts: [{ name: 'acc' }] }, 'x')[0]).toMatchObject({ cluster: 'x', name: 'acc' });
      expect(a.qos({ qos: [{ name: 'q' }] }, 'x')[0]).toMatchObject({ cluster: 'x', name: 'q', priority: 0 });
    }
  });

  it('is strict on identity fields, naming version, kind and index', () => {
    for (const v of SUPPORTED_VERSIONS) {
      const a = adapterFor(v);
      expect(() => a.nodes({ nodes: [{ name: 'n1' }, { state: ['IDLE'] }] }, 'x')).toThrow(`slurmrestd ${v} node[1]: missing "name"`);
      expect(() => a.jobs({ jobs: [{ job_id: 0 }] }, 'x')).toThrow(`slurmrestd ${v} job[0]: missing "job_id"`);
      expect(() => a.partitions({ partitions: [null] }, 'x')).toThrow(`slurmrestd ${v} partition[0]: not an object`);
      expect(() => a.associations({ associations: [{ user: 'u' }] }, 'x')).toThrow(`slurmrestd ${v} association[0]: missing "account"`);
      expect(() => a.ping({ pings: [{ pinged: 'UP' }] }, 'x')).toThrow(`slurmrestd ${v} controller[0]: missing "hostname"`);
    }
  });
});
