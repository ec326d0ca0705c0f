import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../fleet/index.js';
import { hubConfigSchema } from '../config/index.js';
import { decodeGlobalCursor, encodeGlobalCursor, mergeAll, mergePage, regionCursor, type RegionPage } from './merge.js';

type J = { cluster: string; id: number };
const key = (j: J) => ({ cluster: j.cluster, key: j.id });
const jobs = (cluster: string, ...ids: number[]): J[] => ids.map((id) => ({ cluster, id }));

describe('global merge', () => {
  it('tags items with their region and orders by (region, cluster, id)', () => {
    const merged = mergeAll<J>(
      [
        { region: 'us', items: jobs('b', 2, 10) },
        { region: 'eu', items: [...jobs('z', 1), ...jobs('a', 9)] },
      ],
      key,
    );
    expect(merged.map((j) => `${j.region}/${j.cluster}/${j.id}`)).toEqual(['eu/a/9', 'eu/z/1', 'us/b/2', 'us/b/10']);
  });

  it('cuts at limit and resumes each region after its last returned item', () => {
    const pages: RegionPage<J>[] = [
      { region: 'eu', items: jobs('a', 1, 2), next_cursor: null },
      { region: 'us', items: jobs('a', 1, 2, 3), next_cursor: encodeCursor(['a', 3]) },
    ];
    const page = mergePage(pages, ['ap'], 3, key);
    expect(page.items.map((j) => `${j.region}/${j.id}`)).toEqual(['eu/1', 'eu/2', 'us/1']);
    const next = decodeGlobalCursor(page.next_cursor!);
    expect(next.eu).toBeNull(); // done
    expect(next.ap).toBeNull(); // failed: listed in partial, not retried
    expect(decodeCursor(next.us!)).toEqual(['a', 1]);
    expect(regionCursor(next, 'eu')).toBeUndefined();
    expect(regionCursor(next, 'us')).toBe(next.us);
    expect(regionCursor(undefined, 'us')).toBe('');
  });

  it('keeps the old cursor of a region none of whose items made the page, and ends when all are done', () => {
    const previous = { eu: encodeCursor(['a', 5]), us: '' };
    const page = mergePage<J>([{ region: 'eu', items: jobs('a', 6, 7) }, { region: 'us', items: jobs('a', 1) }], [], 2, key, previous);
    expect(page.items.map((j) => `${j.region}/${j.id}`)).toEqual(['eu/6', 'eu/7']);
    expect(decodeGlobalCursor(page.next_cursor!)).toEqual({ eu: null, us: '' });
    const last = mergePage<J>([{ region: 'us', items: jobs('a', 1) }], [], 2, key, { eu: null, us: '' });
    expect(last.items.map((j) => j.region)).toEqual(['us']);
    expect(last.next_cursor).toBeNull();
  });

  it('refuses a cursor that is not a global cursor', () => {
    expect(() => decodeGlobalCursor(encodeCursor(['a', 1]))).toThrow(/invalid global cursor/);
    expect(() => decodeGlobalCursor('%%%')).toThrow(/invalid global cursor/);
    expect(decodeGlobalCursor(encodeGlobalCursor({ eu: 'x', us: null }))).toEqual({ eu: 'x', us: null });
  });
});

describe('regions config', () => {
  const base = { region: 'eu', tls: { ca: 'ca', cert: 'c', key: 'k' } };
  it('defaults the timeout to 2s and takes durations', () => {
    const c = hubConfigSchema.parse({ ...base, regions: { peers: [{ name: 'us', url: 'https://us.example.org:8443' }, { name: 'ap', url: 'https://ap:8443', timeout: '500ms' }] } });
    expect(c.regions!.peers.map((p) => p.timeout)).toEqual([2_000, 500]);
  });
  it('refuses unknown keys, http URLs, duplicates and its own region', () => {
    expect(() => hubConfigSchema.parse({ ...base, regions: { peers: [], extra: 1 } })).toThrow();
    expect(() => hubConfigSchema.parse({ ...base, regions: { peers: [{ name: 'us', url: 'http://us:8443' }] } })).toThrow(/https/);
    expect(() => hubConfigSchema.parse({ ...base, regions: { peers: [{ name: 'us', url: 'https://a:1' }, { name: 'us', url: 'https://b:1' }] } })).toThrow(/unique/);
    expect(() => hubConfigSchema.parse({ ...base, regions: { peers: [{ name: 'eu', url: 'https://a:1' }] } })).toThrow(/own region/);
  });
});
