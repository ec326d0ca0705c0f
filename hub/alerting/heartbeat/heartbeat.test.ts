// The dead man's switch: called at most once per interval while paging works (the leader's
// evaluation, or a hub paging by itself without a leader); a failing call is logged without the URL.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../shared/clock/index.js';
import { createLogger, type Logger } from '../../../shared/logging/index.js';
import type { LeaderContext } from '../../leader/index.js';
import { Alerting } from '../alerting.js';
import { config, Fleet, Recorder } from '../fleet-fixture.js';
import { Heartbeat, heartbeatSchema } from './heartbeat.js';

const SECRET_PATH = '/ping/5f3c9a1e-0b7d-4c2e-9f61-0a8b7c6d5e4f';
let server: Server | undefined;
const pings: string[] = [];
let status = 200;

async function receiver(): Promise<string> {
  server = createServer((req, res) => {
    pings.push(`${req.method} ${req.url}`);
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${SECRET_PATH}`;
}

afterEach(async () => {
  pings.length = 0;
  status = 200;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = { warn: (o: unknown, m: string) => lines.push(JSON.stringify([o, m])), info: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
  return { logger, lines };
}

describe('heartbeat (dead man\'s switch)', () => {
  it('calls the URL at most once per interval; a failed call is counted and logged without the URL', async () => {
    const url = await receiver();
    const clock = new ManualClock();
    const { logger, lines } = capture();
    const hb = new Heartbeat(heartbeatSchema.parse({ webhook: url, interval: '1m' }), { clock, logger });
    hb.beat();
    await vi.waitFor(() => expect(hb.stats.sent).toBe(1));
    hb.beat();
    clock.advance(59_000);
    hb.beat();
    clock.advance(1_000);
    status = 500;
    hb.beat();
    await vi.waitFor(() => expect(hb.stats.failed).toBe(1));
    expect(pings).toEqual([`GET ${SECRET_PATH}`, `GET ${SECRET_PATH}`]);
    expect(lines.join('\n')).toContain('answered 500');
    expect(lines.join('\n')).not.toContain('5f3c9a1e');
  });

  it('the leader calls it after an evaluation; without a leader for TTL + 10 s a hub paging by itself calls it', async () => {
    const url = await receiver();
    const clock = new ManualClock();
    const fleet = new Fleet(clock);
    const rec = new Recorder();
    const logger = createLogger({ name: 'test', level: 'silent' });
    const cfg = config({ heartbeat: { webhook: url, interval: '1m' }, evaluation_interval: '1s' });
    const leader = new Alerting(cfg, { state: fleet.state, logger, clock, region: 'eu', notifiers: rec.factory });
    const c = new AbortController();
    const ctx: LeaderContext = { region: 'eu', hubId: 'h', token: 1, signal: c.signal, assertLeading: () => undefined, put: async () => undefined, get: async () => undefined };
    void leader.singleton().run(ctx);
    await vi.waitFor(() => expect(pings).toHaveLength(1));
    c.abort();
    await leader.close();

    pings.length = 0;
    const alone = new Alerting(cfg, { state: fleet.state, logger, clock, region: 'eu', notifiers: rec.factory, leaderless: { afterMs: 3_000, leader: () => null } });
    clock.advance(13_001);
    await vi.waitFor(() => expect(pings).toHaveLength(1), { timeout: 5_000 });
    await alone.close();
  });
});
