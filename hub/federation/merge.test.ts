import { describe, expect, it } from 'vitest';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { compareSortKeys, decodeCursor, encodeCursor, FleetState, listJobs, sortKeyOf, type JobSortField, type SortOrder } from '../fleet/index.js';
import { hubConfigSchema } from '../config/index.js';
import { decodeGlobalCursor, encodeGlobalCursor, jobMergeOrder, mergeAll, mergePage, regionCursor, type RegionPage } from './merge.js';

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

describe('global merge of a sorted job listing', () => {
  // Two regions, each its own fleet state (one cluster each, and one cluster name both have),
  // paged as Federation.query pages them: each region's listJobs after its own cursor, merged.
  const USERS = ['carol', 'alice', 'bob', 'dave', ''];
  const STATES = ['RUNNING', 'PENDING', 'COMPLETED'];
  const region = (clusters: string[], seed: number): FleetState => {
    const state = new FleetState();
    for (const cluster of clusters) {
      const list = Array.from({ length: 23 }, (_, i) =>
        testJob(i + 1, { cluster, user: USERS[(i * 7 + seed) % USERS.length], state: STATES[(i + seed) % 3], submit_time: i % 5 === 4 ? undefined : new Date(Date.UTC(2026, 0, 1, 0, (i * 13 + seed * 5) % 60)).toISOString() }),
      );
      state.apply(jobDelta(list, { cluster, snapshot: true }));
    }
    return state;
  };
  const regions = { east: region(['e1', 'shared'], 1), west: region(['w1', 'shared'], 2) };

  function pageThrough(sort: JobSortField, order: SortOrder, limit: number, filter: { user?: string } = {}): { ids: string[]; pages: number } {
    const mergeOrder = jobMergeOrder(sort, order);
    const ids: string[] = [];
    let cursors: Record<string, string | null> | undefined;
    let pages = 0;
    for (;;) {
      pages++;
      const answers: RegionPage<object>[] = [];
      for (const [name, state] of Object.entries(regions)) {
        const at = regionCursor(cursors, name);
        if (at === undefined) continue;
        const page = listJobs(state, filter, { sort, order, limit, cursor: at || undefined });
        answers.push({ region: name, items: page.items, next_cursor: page.next_cursor ?? null });
      }
      const page = mergePage(answers, [], limit, key as (j: object) => { cluster: string; key: number }, cursors, mergeOrder);
      ids.push(...page.items.map((j) => `${j.region}/${(j as unknown as J).cluster}/${(j as unknown as J).id}`));
      if (!page.next_cursor) return { ids, pages };
      cursors = decodeGlobalCursor(page.next_cursor);
    }
  }

  for (const [sort, order] of [['user', 'asc'], ['submit_time', 'desc'], ['state', 'asc'], ['id', 'desc']] as const) {
    it(`pages ${sort} ${order} across both regions: every job once, in the sort's order, the region breaking ties`, () => {
      const all = Object.entries(regions).flatMap(([name, state]) => state.list('job').map((j) => ({ j, name })));
      const dir = order === 'asc' ? 1 : -1;
      const expected = all
        .sort((a, b) => dir * compareSortKeys(sortKeyOf(a.j, sort), sortKeyOf(b.j, sort)) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map(({ j, name }) => `${name}/${j.cluster}/${j.id}`);
      const { ids, pages } = pageThrough(sort, order, 7);
      expect(ids).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 7));
    });
  }

  it('applies the filter in every region', () => {
    const { ids } = pageThrough('submit_time', 'asc', 5, { user: 'bob' });
    const bob = Object.entries(regions).flatMap(([name, state]) => state.list('job').filter((j) => j.user === 'bob').map((j) => `${name}/${j.cluster}/${j.id}`));
    expect([...ids].sort()).toEqual([...bob].sort());
    expect(new Set(ids.map((i) => i.split('/')[0]))).toEqual(new Set(['east', 'west']));
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
