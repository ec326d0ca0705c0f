// The part a group backup fetches from each member: who may have a hub's audit chain, and what a
// member that gives the wrong chain or none does to the backup.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtRest } from '../../shared/crypto/index.js';
import { checkPeer, fetchPeerAudits, localAuditPart } from './group-parts.js';

const members = async (): Promise<{ items: { hub_id: string; http_url: string; tls_name: string }[] }> => ({ items: [{ hub_id: 'hub-a', http_url: 'https://127.0.0.1:1', tls_name: 'hub-a.example' }] });

describe('the audit part of a group backup', () => {
  it('is given only to a hub certificate that a member of the group names', async () => {
    await expect(checkPeer({ role: 'hub', name: 'hub-a.example' }, members)).resolves.toBeUndefined();
    await expect(checkPeer({ role: 'admin', name: 'alice' }, members)).rejects.toThrow(/only a hub certificate of this group/);
    await expect(checkPeer({ role: 'hub', name: 'hub-of-another-region' }, members)).rejects.toThrow(/hub hub-of-another-region is not a member of this hub's group/);
    await expect(checkPeer({ role: 'hub', name: 'hub-a.example' }, undefined)).rejects.toThrow(/in no hub group/);
    await expect(checkPeer({ role: 'hub', name: 'hub-a.example' }, async () => ({ items: [], error: 'etcd unreachable' }))).rejects.toThrow(/cannot check its group's membership now \(etcd unreachable\)/);
  });

  it("holds this hub's chain files, the last line cut at a torn tail", () => {
    const dir = mkdtempSync(join(tmpdir(), 'group-parts-'));
    mkdirSync(join(dir, 'audit'));
    writeFileSync(join(dir, 'audit', 'audit-1.jsonl'), '{"seq":1}\n{"seq":2}\n{"se');
    writeFileSync(join(dir, 'audit', 'HEAD'), 'head');
    const part = localAuditPart('hub-b', join(dir, 'audit'), AtRest.plaintext());
    expect(part.hub_id).toBe('hub-b');
    expect(part.objects.map((o) => [o.name, Buffer.from(o.data, 'base64').toString()])).toEqual([['audit-1.jsonl', '{"seq":1}\n{"seq":2}\n'], ['HEAD', 'head']]);
  });

  it('fails the backup naming a member that does not answer', async () => {
    const tls = { ca: Buffer.alloc(0), cert: Buffer.alloc(0), key: Buffer.alloc(0) } as never;
    await expect(fetchPeerAudits({ hubId: 'hub-b', members, tls, timeoutMs: 2_000 })).rejects.toThrow(/hub hub-a of the group did not give its audit chain .*: a group backup holds every hub's chain/);
    // Only itself in the group: nothing to fetch.
    await expect(fetchPeerAudits({ hubId: 'hub-a', members, tls, timeoutMs: 2_000 })).resolves.toEqual([]);
  });
});
