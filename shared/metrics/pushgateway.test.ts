import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { groupUrl, PushgatewayPusher } from './pushgateway.js';

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('PushgatewayPusher', () => {
  it('an unreachable Pushgateway: push answers false, the failure is counted, and logged once per minute', async () => {
    const registry = new Registry();
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown) => warnings.push(o) } as never;
    const pusher = new PushgatewayPusher({ registries: [registry], logger }, { url: `http://user:secret@127.0.0.1:${await deadPort()}`, grouping: [['job', 'sfleet-agent'], ['cluster', 'a'], ['agent', 'h1']], intervalMs: 60_000, prefix: 'sfleet_agent_' });
    expect(await pusher.push()).toBe(false);
    expect(await pusher.push()).toBe(false);
    expect(await registry.metrics()).toMatch(/^sfleet_agent_push_failures_total\{reason="unreachable"\} 2$/m);
    expect(warnings).toHaveLength(1);
    // the URL in the log has no credentials
    expect(JSON.stringify(warnings)).not.toContain('secret');
  });

  it('builds the grouping key path, base64 for values with a slash', () => {
    expect(groupUrl('http://pg:9091/', [['job', 'sfleet-agent'], ['cluster', 'a'], ['agent', 'h1']])).toBe('http://pg:9091/metrics/job/sfleet-agent/cluster/a/agent/h1');
    expect(groupUrl('http://pg:9091', [['job', 'j'], ['agent', 'a/b']])).toBe(`http://pg:9091/metrics/job/j/agent@base64/${Buffer.from('a/b').toString('base64url')}`);
  });
});
