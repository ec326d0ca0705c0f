import { createServer, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Federation } from './federation.js';

describe('Federation deadlines', () => {
  const held: Socket[] = [];
  const hanging = createServer((s) => held.push(s));
  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => hanging.close(r));
  });

  it('answers with this region and lists a dead and a hanging peer as partial within the deadline', async () => {
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const port = (hanging.address() as { port: number }).port;
    const fed = new Federation({
      region: 'eu',
      peers: [
        { name: 'dead', url: 'https://127.0.0.1:1', timeout: 300 },
        { name: 'hanging', url: `https://127.0.0.1:${port}`, timeout: 300 },
      ],
    });
    const started = Date.now();
    const answer = await fed.query('jobs', { scope: 'global', limit: 10 }, () => ({ items: [{ cluster: 'a', id: 1 }], next_cursor: null }));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(answer).toEqual({ items: [{ cluster: 'a', id: 1, region: 'eu' }], next_cursor: null, regions: ['eu'], partial: ['dead', 'hanging'] });
  });
});
