// sfleet config agent-for: the agent.yaml of a declared cluster validates as an agent
// configuration and carries the hub file's endpoints and load_balancing as written.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { agentConfigSchema } from '../../agent/config/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { agentFor } from './agent-for.js';

const HUB = `tls: { ca: /etc/sfleet/ca.pem, cert: /etc/sfleet/hub.pem, key: /etc/sfleet/hub-key.pem }
listen: { grpc: "hub1.company.com:7443" }
security:
  encryption:
    tls: { min_version: "1.3", cipher_suites: ["TLS_AES_256_GCM_SHA384"] }
clusters:
  primary:
    endpoints:
      - "https://slurm1.company.com"
      - "https://slurm2.company.com"
    load_balancing:
      strategy: "round_robin"
      health_check_interval: 30s
      failover_threshold: 3
  lab:
    endpoints: ["http://lab-head:6820"]
`;
const OPTS = { hubs: [], pkiDir: '/etc/sfleet/pki', spoolDir: '/var/lib/sfleet-agent/spool' };

describe('sfleet config agent-for', () => {
  it('writes the declared cluster\'s agent.yaml: its endpoints, load balancing, the hub, its certificate and the hub\'s TLS policy', async () => {
    const { text } = await agentFor(HUB, 'hub.yaml', 'primary', OPTS);
    expect(text).toMatch(/^# slurmfleet agent of cluster primary, written from hub\.yaml \(clusters\.primary\)/);
    expect(parse(text)).toMatchObject({ slurm: { load_balancing: { health_check_interval: '30s' } } });
    const agent = parseConfigText(agentConfigSchema, text, 'agent.yaml', { env: { SLURM_JWT: 'jwt' } });
    expect(agent.cluster).toBe('primary');
    expect(agent.hub.endpoints).toEqual(['hub1.company.com:7443']);
    expect(agent.slurm.endpoints).toEqual(['https://slurm1.company.com', 'https://slurm2.company.com']);
    expect(agent.slurm.load_balancing).toEqual({ strategy: 'round_robin', health_check_interval: 30_000, failover_threshold: 3 });
    expect(agent.slurm.auth.token).toBe('jwt');
    expect(agent.tls).toMatchObject({ ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/primary-agent.pem', key: '/etc/sfleet/pki/primary-agent-key.pem' });
    expect(agent.security?.encryption.tls).toEqual({ min_version: '1.3', cipher_suites: ['TLS_AES_256_GCM_SHA384'] });
  });

  it('a cluster without load_balancing gets the agent\'s default; --hub names the hubs', async () => {
    const { text } = await agentFor(HUB, 'hub.yaml', 'lab', { ...OPTS, hubs: ['hub-a:7443', 'hub-b:7443'] });
    expect(text).not.toContain('load_balancing');
    const agent = parseConfigText(agentConfigSchema, text, 'agent.yaml', { env: { SLURM_JWT: 'jwt' } });
    expect(agent.hub.endpoints).toEqual(['hub-a:7443', 'hub-b:7443']);
    expect(agent.slurm.load_balancing.strategy).toBe('failover');
  });

  it('refuses a cluster the map does not declare, naming those it does', async () => {
    await expect(agentFor(HUB, 'hub.yaml', 'tertiary', OPTS)).rejects.toThrow('cluster "tertiary" is not declared in hub.yaml: its clusters: map declares primary, lab (add clusters.tertiary.endpoints there first)');
    await expect(agentFor('tls: { ca: a, cert: b, key: c }\n', 'hub.yaml', 'primary', OPTS)).rejects.toThrow(/it has no clusters: map/);
  });

  it('refuses a wildcard listen.grpc without --hub, and an invalid hub file with its problems', async () => {
    await expect(agentFor(HUB.replace('hub1.company.com:7443', '0.0.0.0:7443'), 'hub.yaml', 'primary', OPTS)).rejects.toThrow(/listen\.grpc is 0\.0\.0\.0:7443, an address the agent cannot dial: name the hubs with --hub/);
    await expect(agentFor(HUB.replace('"https://slurm1.company.com"', '"slurm1:6820"'), 'hub.yaml', 'primary', OPTS)).rejects.toThrow(/hub\.yaml is not a valid hub configuration:\nhub\.yaml:\d+: clusters\.primary\.endpoints\.0: expected http/);
  });
});
