import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SlurmResponseError, SlurmUnavailableError } from '../../shared/errors/index.js';
import type { Job } from '../../shared/model/index.js';
import { adapterFor, ElementCache, streamedList, type ListLimits } from './index.js';

const LIMITS: ListLimits = { maxElementBytes: 1 << 20, maxOtherBytes: 1 << 20 };
const fixture = (path: string): string => readFileSync(new URL(`./testdata/${path}`, import.meta.url), 'utf8');

/** Feeds `text` in chunks of `size` bytes (the split may fall inside a UTF-8 character). */
function stream(version: string, kind: 'job' | 'node', text: string, size: number, limits = LIMITS, status = 200): unknown[] {
  const list = kind === 'job' ? streamedList(adapterFor(version), 'job', 'c1', limits) : streamedList(adapterFor(version), 'node', 'c1', limits);
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) list.write(bytes.subarray(i, i + size));
  return list.finish(status);
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('streamedList', () => {
  const cases: [string, 'job' | 'node', string][] = [
    ['v0.0.38', 'job', 'v0.0.38/jobs.json'],
    ['v0.0.38', 'node', 'v0.0.38/nodes.json'],
    ['v0.0.39', 'job', 'v0.0.39/jobs.json'],
    ['v0.0.39', 'node', 'v0.0.39/nodes.json'],
    ['v0.0.40', 'job', 'v0.0.40/jobs.json'],
    ['v0.0.40', 'node', 'v0.0.40/nodes.json'],
    ['v0.0.44', 'job', 'v0.0.44/jobs.json'],
  ];
  it.each(cases)('%s %s: the same objects as the buffered adapter, however the bytes are cut', (version, kind, path) => {
    const text = fixture(path);
    const adapter = adapterFor(version);
    const expected = kind === 'job' ? adapter.jobs(JSON.parse(text), 'c1') : adapter.nodes(JSON.parse(text), 'c1');
    expect(expected.length).toBeGreaterThan(0);
    for (const size of [1, 3, 64, 4096, text.length]) expect(stream(version, kind, text, size)).toEqual(expected);
  });

  it('is not fooled by brackets, quotes and the list name inside strings or other fields', () => {
    const text = JSON.stringify({
      meta: { jobs: [{ job_id: 99 }], note: 'jobs: [' },
      errors: [],
      warnings: [{ description: '"jobs": [{"job_id": 98}]' }],
      jobs: [
        { job_id: 1, name: 'a]}",\\[{', comment: 'ü€😀 \u0000', user_name: 'u' },
        { job_id: 2, name: 'jobs', comment: '\\"', user_name: 'v' },
      ],
      last_update: { number: 1 },
    });
    for (const size of [1, 2, 5, text.length]) {
      const jobs = stream('v0.0.44', 'job', text, size) as { id: number; name: string; comment: string }[];
      expect(jobs.map((j) => [j.id, j.name, j.comment])).toEqual([
        [1, 'a]}",\\[{', 'ü€😀 \u0000'],
        [2, 'jobs', '\\"'],
      ]);
    }
  });

  it('reads an empty list, and a missing one when Slurm says why', () => {
    expect(stream('v0.0.41', 'job', '{"jobs": [ ], "errors": []}', 3)).toEqual([]);
    expect(stream('v0.0.41', 'job', '{"warnings": [{"description": "no jobs loaded"}]}', 3)).toEqual([]);
    expect(() => stream('v0.0.41', 'job', '{"meta": {}}', 3)).toThrow('slurmrestd v0.0.41 job response has no "jobs" list');
    expect(() => stream('v0.0.41', 'job', '{"jobs": null}', 3)).toThrow('slurmrestd v0.0.41 job response has no "jobs" list');
  });

  it('Slurm\'s errors win over the list, even after a bad record', () => {
    const auth = '{"jobs": [{"job_id": 0}], "errors": [{"error_number": 1007, "error": "Protocol authentication error"}]}';
    expect(errorOf(() => stream('v0.0.41', 'job', auth, 7))).toBeInstanceOf(SlurmUnavailableError);
    const failed = '{"jobs": [{"job_id": 0}], "errors": [{"error_number": 1, "error": "Unspecified error", "description": "Unable to query jobs"}]}';
    expect(() => stream('v0.0.41', 'job', failed, 7)).toThrow('slurmrestd reported an error for jobs: Unspecified error [1]: Unable to query jobs');
  });

  it('names the version, kind and index of a record without its identity', () => {
    const text = '{"nodes": [{"name": "n1"}, {"state": ["IDLE"]}], "errors": []}';
    expect(() => stream('v0.0.41', 'node', text, 5)).toThrow('slurmrestd v0.0.41 node[1]: missing "name"');
    expect(() => stream('v0.0.41', 'job', '{"jobs": [{"job_id": 1}, 7]}', 5)).toThrow('slurmrestd v0.0.41 job[1]: not an object');
  });

  it('truncated JSON names where it stopped', () => {
    const text = fixture('responses/truncated.json');
    const length = Buffer.byteLength(text);
    const err = errorOf(() => stream('v0.0.44', 'job', text, 16));
    expect(err).toBeInstanceOf(SlurmResponseError);
    expect(err.message).toBe(`slurmrestd sent truncated JSON for jobs at position ${length} of ${length}`);
    expect(() => stream('v0.0.44', 'job', '{"jobs": [{"job_id": 1}]', 4)).toThrow('slurmrestd sent truncated JSON for jobs at position 24 of 24');
  });

  it('malformed JSON names the byte position, never the body', () => {
    const body = '{"jobs": [ {"job_id": 1,, "secret": "tok"} ]}';
    const err = errorOf(() => stream('v0.0.41', 'job', body, 8));
    expect(err).toBeInstanceOf(SlurmResponseError);
    expect(err.message).toBe('slurmrestd sent malformed JSON for jobs at position 24');
    expect(err.message).not.toContain('tok');
    expect(() => stream('v0.0.41', 'job', '{"jobs": [{"job_id": 1},, {"job_id": 2}]}', 8)).toThrow('malformed JSON for jobs at position 24');
    expect(() => stream('v0.0.41', 'job', '{"jobs": [{"job_id": 1},]}', 8)).toThrow('malformed JSON for jobs at position 24');
    // Outside the list: the position is still the one in the whole answer.
    expect(() => stream('v0.0.41', 'job', '{"jobs": [{"job_id": 1}], "meta": {"x" 1}}', 8)).toThrow('malformed JSON for jobs at position 39');
  });

  it('refuses an element over the per-element cap, naming it, whatever the total size', () => {
    const big = JSON.stringify({ jobs: [{ job_id: 1 }, { job_id: 2, comment: 'x'.repeat(5000) }] });
    expect(() => stream('v0.0.41', 'job', big, 100, { maxElementBytes: 1000, maxOtherBytes: 1000 })).toThrow(
      'slurmrestd answer to jobs: element 1 is larger than 1000 bytes',
    );
    expect(() => stream('v0.0.41', 'job', big, big.length, { maxElementBytes: 1000, maxOtherBytes: 1000 })).toThrow('element 1 is larger than 1000 bytes');
    const many = JSON.stringify({ jobs: Array.from({ length: 2000 }, (_, i) => ({ job_id: i + 1 })) });
    expect(stream('v0.0.41', 'job', many, 512, { maxElementBytes: 100, maxOtherBytes: 100 })).toHaveLength(2000);
    const chatty = JSON.stringify({ jobs: [], warnings: [{ description: 'w'.repeat(2000) }] });
    expect(() => stream('v0.0.41', 'job', chatty, 100, { maxElementBytes: 1000, maxOtherBytes: 1000 })).toThrow(
      'slurmrestd answer to jobs holds more than 1000 bytes besides its list',
    );
  });

  it('an answer that is not a JSON object, or is empty, says so', () => {
    expect(() => stream('v0.0.41', 'job', '[1, 2]', 2)).toThrow('slurmrestd answer for jobs is not a JSON object (HTTP 200)');
    expect(() => stream('v0.0.41', 'job', '', 2)).toThrow('slurmrestd sent an empty body for jobs (HTTP 200)');
    expect(() => stream('v0.0.41', 'job', '  ', 2)).toThrow('slurmrestd sent truncated JSON for jobs at position 2 of 2');
  });

  it('reuses the object of a job whose bytes did not change since the last complete answer', () => {
    const cache = new ElementCache<Job>('v0.0.41');
    const read = (text: string): Job[] => {
      const list = streamedList(adapterFor('v0.0.41'), 'job', 'c1', LIMITS, cache);
      list.write(Buffer.from(text));
      return list.finish(200);
    };
    const job = (id: number, state: string) => ({ job_id: id, user_name: 'u', job_state: [state] });
    const first = read(JSON.stringify({ jobs: [job(1, 'RUNNING'), job(2, 'PENDING')] }));
    const second = read(JSON.stringify({ jobs: [job(2, 'PENDING'), job(1, 'COMPLETED'), job(3, 'PENDING')] }));
    expect(second.map((j) => [j.id, j.state])).toEqual([
      [2, 'PENDING'],
      [1, 'COMPLETED'],
      [3, 'PENDING'],
    ]);
    expect(second[0]).toBe(first[1]);
    expect(second[1]).not.toBe(first[0]);
    expect(cache.size).toBe(3);
    // A failed answer leaves the cache as it was; another version never uses it.
    expect(() => read(JSON.stringify({ jobs: [job(2, 'PENDING')], errors: [{ error_number: 1, error: 'Unspecified error' }] }))).toThrow(/reported an error/);
    expect(cache.size).toBe(3);
    const other = streamedList(adapterFor('v0.0.42'), 'job', 'c1', LIMITS, cache);
    other.write(Buffer.from(JSON.stringify({ jobs: [job(2, 'PENDING')] })));
    expect(other.finish(200)[0]).not.toBe(first[1]);
  });

  it('never takes a changed job for an unchanged one, same length and any cut included, with the chunk memory reused', () => {
    const cache = new ElementCache<Job>('v0.0.41');
    const job = (id: number, comment: string, state = 'PENDING') => ({ job_id: id, user_name: 'u', job_state: [state], comment, flags: ['A'] });
    // The transport reads every chunk into the same memory: the scanner must copy what it keeps.
    const socketBuffer = Buffer.alloc(97);
    const read = (jobs: object[], size: number): Job[] => {
      const list = streamedList(adapterFor('v0.0.41'), 'job', 'c1', LIMITS, cache);
      const bytes = Buffer.from(JSON.stringify({ jobs, meta: {} }, null, 2));
      for (let i = 0; i < bytes.length; i += size) {
        const n = bytes.copy(socketBuffer, 0, i, Math.min(i + size, bytes.length));
        list.write(socketBuffer.subarray(0, n));
        socketBuffer.fill(0x7b);
      }
      return list.finish(200);
    };
    const base = Array.from({ length: 40 }, (_, i) => job(i + 1, `c${String(i).padStart(3, '0')}`));
    for (const size of [1, 13, 97]) {
      const first = read(base, size);
      expect(first.map((j) => j.comment)).toEqual(base.map((j) => j.comment));
      // Same length: one byte differs (comment, then state), in the middle and at the ends.
      const changed = base.map((j, i) => (i === 0 ? job(1, 'c00X') : i === 20 ? job(21, 'c020', 'RUNNING') : i === 39 ? job(40, 'd039') : j));
      const second = read(changed, size);
      expect(second.map((j) => [j.id, j.comment, j.state])).toEqual(changed.map((j) => [j.job_id, j.comment, j.job_state[0]]));
      expect(second[0]).not.toBe(first[0]);
      expect(second[20]).not.toBe(first[20]);
      expect(second[39]).not.toBe(first[39]);
      // Everything else is the very same object.
      for (const i of [1, 10, 19, 21, 38]) expect(second[i]).toBe(first[i]);
      // Swapped contents at the same positions are no match for position either.
      const swapped = [changed[1], changed[0], ...changed.slice(2)];
      const third = read(swapped, size);
      expect(third.map((j) => j.id).slice(0, 3)).toEqual([2, 1, 3]);
      expect(third[0]).toBe(second[1]);
      expect(third[1]).toBe(second[0]);
    }
  });

  it('pretty-printed lists (cut at each closing line) give the same jobs, whatever the layout surprises', () => {
    const job = (id: number, extra: object = {}) => ({ job_id: id, user_name: 'u', job_state: ['PENDING'], ...extra });
    const jobs = Array.from({ length: 300 }, (_, i) => job(i + 1, { comment: 'x'.repeat(i % 17), flags: ['A'], resources: { nodes: { list: [] } } }));
    const pretty = JSON.stringify({ jobs, meta: {} }, null, 2);
    const expected = adapterFor('v0.0.41').jobs({ jobs }, 'c1');
    for (const size of [1, 7, 100, 4096, pretty.length]) expect(stream('v0.0.41', 'job', pretty, size)).toEqual(expected);
    // A nested object closed at the elements' own indentation, a compact element, a string
    // holding what looks like a closing line, a last element on one line.
    const odd = [
      '{"jobs": [',
      '    {"job_id": 1,\n      "user_name": "a"\n    },',
      '    {"job_id": 2, "nested": {"x": 1\n    }, "user_name": "b"\n    },',
      '    {"job_id": 3, "comment": "\\n    },\\n    {", "user_name": "c"},',
      '    {"job_id": 4,\n      "user_name": "d"\n    },',
      '    {"job_id": 5, "user_name": "e"}',
      '  ]}',
    ].join('\n');
    for (const size of [1, 5, 64, odd.length]) {
      expect((stream('v0.0.41', 'job', odd, size) as Job[]).map((j) => [j.id, j.user, j.comment])).toEqual([
        [1, 'a', ''],
        [2, 'b', ''],
        [3, 'c', '\n    },\n    {'],
        [4, 'd', ''],
        [5, 'e', ''],
      ]);
    }
    // Malformed inside a pretty element: the byte scanner names the place.
    const bad = JSON.stringify({ jobs: [job(1), job(2)] }, null, 2).replace('"job_id": 2', '"job_id": 2,,');
    expect(() => stream('v0.0.41', 'job', bad, 50)).toThrow(`malformed JSON for jobs at position ${bad.indexOf(',,') + 1}`);
    const cut = JSON.stringify({ jobs: [job(1), job(2)] }, null, 2).slice(0, -20);
    expect(() => stream('v0.0.41', 'job', cut, 50)).toThrow(`truncated JSON for jobs at position ${cut.length} of ${cut.length}`);
    // An element far bigger than usual without its closing line still reads.
    const long = JSON.stringify({ jobs: [job(1), job(2, { comment: 'y'.repeat(1_200_000) }), job(3)] }, null, 2).replace('\n    }', '}');
    expect((stream('v0.0.41', 'job', long, 65536, { maxElementBytes: 2 << 20, maxOtherBytes: 1024 }) as Job[]).map((j) => j.id)).toEqual([1, 2, 3]);
  });
});
