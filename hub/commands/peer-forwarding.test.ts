// A forward cut after the agent ran the command: the hub sends it again with the same key and the
// agent (its real IdempotencyCache) answers with the first result, so a cancel runs once and the
// caller gets one answer. A real HTTPS peer on loopback, with the fleet's mTLS.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command, CommandResult } from '../../generated/fleet/v1/agent.js';
import { IdempotencyCache } from '../../agent/submit/index.js';
import { makePki, type TestPki } from '../../test/harness/pki.js';
import { CommandRouter, commandKey } from './command-router.js';
import { AgentNotConnectedError } from './errors.js';
import { PeerForwarding } from './peer-forwarding.js';

let pki: TestPki;
let server: Server;
let url = '';
/** What the peer's "agent" ran, and how many forwards reached the peer. */
const ran: string[] = [];
let received = 0;
/** The first `cuts` forwards are cut after the agent ran the command, before the answer goes out. */
let cuts = 0;
/** The peer takes the forward and never answers (its agent is slow). */
let hang = false;
const agentCache = new IdempotencyCache({ max: 100 });

beforeAll(async () => {
  pki = await makePki('forward.test');
  const files = (f: { ca: string; cert: string; key: string }) => ({ ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key) });
  server = createServer({ ...files(pki.hub), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received++;
      if (hang) return;
      const command = Command.fromJSON(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      const run = async () => {
        ran.push(`${command.target}`);
        return { ok: true, message: `cancelled ${command.target} (run ${ran.length})`, code: '', via: 'rest', history: [], job_id: '' };
      };
      const answer = command.idempotency_key ? agentCache.once(command.idempotency_key, run).then(({ repeated: _r, ...r }) => r) : run();
      void answer.then((result) => {
        if (cuts > 0) {
          cuts--;
          req.socket.destroy(); // the agent ran it; its answer never reaches the forwarding hub
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(CommandResult.toJSON({ id: command.id, ...result })));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function routerOnHubB(): CommandRouter {
  const router = new CommandRouter({ timeoutMs: 5_000 });
  const client = { ca: readFileSync(pki.ca), cert: readFileSync(pki.hub.cert), key: readFileSync(pki.hub.key) };
  router.forwardWith(new PeerForwarding({ hubId: 'hub-b', owner: () => 'hub-a', members: async () => ({ items: [{ hub_id: 'hub-a', http_url: url }] }), tls: client }, { timeoutMs: 5_000 }));
  return router;
}

describe('a forwarded command whose peer does not answer in time', () => {
  it('is a command timeout, not "not connected", and is not sent again: it may be running there (a submit keeps its reservation)', async () => {
    received = 0;
    hang = true;
    try {
      const router = new CommandRouter({ timeoutMs: 200 });
      const client = { ca: readFileSync(pki.ca), cert: readFileSync(pki.hub.cert), key: readFileSync(pki.hub.key) };
      router.forwardWith(new PeerForwarding({ hubId: 'hub-b', owner: () => 'hub-a', members: async () => ({ items: [{ hub_id: 'hub-a', http_url: url }] }), tls: client }, { timeoutMs: 200 }));
      await expect(router.run('c1', 'cancel', '40', 'slow', 'ann')).rejects.toMatchObject({ code: 'SF_AGENT_COMMAND_TIMEOUT' });
      expect(received).toBe(1);
    } finally {
      hang = false;
    }
  });
});

describe('a forwarded command whose connection is cut after the agent ran it', () => {
  it('a cancel without a client key gets one of its own: sent again, it runs once and the caller gets one result', async () => {
    ran.length = 0;
    received = 0;
    cuts = 1;
    const result = await routerOnHubB().run('c1', 'cancel', '41', 'cut once', 'ann');
    expect(result).toMatchObject({ ok: true, message: 'cancelled 41 (run 1)' });
    expect(received).toBe(2);
    expect(ran).toEqual(['41']);
  });

  it("a client's Idempotency-Key repeated by the client gets the first result; another caller's same key is another command", async () => {
    ran.length = 0;
    cuts = 0;
    const router = routerOnHubB();
    const first = await router.run('c1', 'cancel', '42', '', 'ann', commandKey('ann', 'c1', 'cancel', '42', 'retry-1'));
    const again = await router.run('c1', 'cancel', '42', '', 'ann', commandKey('ann', 'c1', 'cancel', '42', 'retry-1'));
    expect(again.message).toBe(first.message);
    expect(ran).toEqual(['42']);
    await router.run('c1', 'cancel', '42', '', 'bob', commandKey('bob', 'c1', 'cancel', '42', 'retry-1'));
    expect(ran).toEqual(['42', '42']);
    expect(() => commandKey('ann', 'c1', 'cancel', '42', 'bad key!')).toThrow(/Idempotency-Key/);
  });

  it('gives up after three cut sends with SF_AGENT_NOT_CONNECTED (the command ran once)', async () => {
    ran.length = 0;
    received = 0;
    cuts = 3;
    await expect(routerOnHubB().run('c1', 'drain', 'n1', 'disk', 'ann')).rejects.toBeInstanceOf(AgentNotConnectedError);
    expect(received).toBe(3);
    expect(ran).toEqual(['n1']);
  });
});
