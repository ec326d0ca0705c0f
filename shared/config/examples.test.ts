import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config/index.js';
import { hubConfigSchema } from '../../hub/config/index.js';
import { loadConfigFile } from './load.js';

const examples = join(import.meta.dirname, '../../deploy/examples');

describe('shipped example configs', () => {
  it('hub.yaml is valid and means what its comments say', () => {
    const c = loadConfigFile(hubConfigSchema, join(examples, 'hub.yaml'));
    expect(c.listen.grpc).toBe('0.0.0.0:7443');
    expect(c.commands.timeout).toBe(30_000);
  });
  it('agent.yaml is valid with SLURM_JWT set', () => {
    const c = loadConfigFile(agentConfigSchema, join(examples, 'agent.yaml'), { env: { SLURM_JWT: 'x' } });
    expect(c.hub.endpoints).toHaveLength(2);
    expect(c.spool.max_bytes).toBe(256 * 1024 * 1024);
    expect(c.slurm.timeout).toBe(60_000);
  });
});
