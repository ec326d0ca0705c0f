// startTestAgent() replaced the agent config literal of the integration tests: the config it
// builds must be the one those literals gave, key for key, after the schema's defaults.
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config/index.js';
import { agentConfig } from './test-agent.js';

const tls = { ca: '/pki/ca.pem', cert: '/pki/a.pem', key: '/pki/a-key.pem' };

describe('agentConfig', () => {
  it('gives what the literal gave, name and backoff included', () => {
    const literal = {
      cluster: 'duo',
      name: 'head1',
      hub: { endpoints: ['127.0.0.1:1'], initial_backoff: '100ms', max_backoff: '300ms' },
      tls,
      slurm: { source: 'cli' },
      poll_interval: '200ms',
      spool_dir: '/tmp/spool-x',
    };
    const built = agentConfig({ cluster: 'duo', name: 'head1', endpoints: ['127.0.0.1:1'], backoff: ['100ms', '300ms'], tls, spoolDir: '/tmp/spool-x' });
    expect(built).toEqual(literal);
    expect(agentConfigSchema.parse(built)).toEqual(agentConfigSchema.parse(literal));
  });

  it('leaves out name and backoff when not given (the schema defaults them)', () => {
    const built = agentConfig({ cluster: 'c', endpoints: ['h:1'], tls, spoolDir: '/s' });
    expect(built).toEqual({ cluster: 'c', hub: { endpoints: ['h:1'] }, tls, slurm: { source: 'cli' }, poll_interval: '200ms', spool_dir: '/s' });
  });

  it('takes another source, poll interval and further keys', () => {
    const slurm = { source: 'rest', endpoints: ['http://127.0.0.1:2'], auth: { user: 'root', token: 't' } };
    const encryption = { enabled: true, provider: 'file', file: { path: '/k.json' } };
    const built = agentConfig({ cluster: 'c', endpoints: ['h:1'], tls, slurm, pollInterval: '1h', spoolDir: '/s', extra: { encryption, log_level: 'info' } });
    expect(built).toEqual({ cluster: 'c', hub: { endpoints: ['h:1'] }, tls, slurm, poll_interval: '1h', spool_dir: '/s', encryption, log_level: 'info' });
  });

  it('makes a fresh spool directory by default', () => {
    const a = agentConfig({ cluster: 'c', endpoints: ['h:1'], tls }).spool_dir as string;
    const b = agentConfig({ cluster: 'c', endpoints: ['h:1'], tls }).spool_dir as string;
    expect(a).toMatch(/spool-/);
    expect(a).not.toBe(b);
  });
});
