import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NotFoundError, SlurmResponseError, SlurmUnavailableError } from '../../shared/errors/index.js';
import { parseSlurmResponse } from './index.js';

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain';
const text = (name: string): string => readFileSync(new URL(`./testdata/responses/${name}`, import.meta.url), 'utf8');

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('parseSlurmResponse', () => {
  it('304 means the list did not change (empty body, no content type)', () => {
    expect(parseSlurmResponse(304, undefined, '', 'jobs')).toEqual({ unchanged: true });
  });

  it('200 JSON gives the parsed body', () => {
    const res = parseSlurmResponse(200, 'application/json; charset=utf-8', text('ok-200.json'), 'jobs');
    expect(res).toEqual({ unchanged: false, body: { jobs: [{ job_id: 1 }] } });
  });

  it('200 whose errors hold only "No error"-style entries and warnings is a success', () => {
    const res = parseSlurmResponse(200, JSON_TYPE, text('no-error-200.json'), 'node cn9');
    expect(res.unchanged).toBe(false);
  });

  it('200 with a real Slurm error throws SlurmResponseError carrying Slurm\'s text', () => {
    const err = errorOf(() => parseSlurmResponse(200, JSON_TYPE, text('errors-200.json'), 'partitions'));
    expect(err).toBeInstanceOf(SlurmResponseError);
    expect(err.message).toBe(
      'slurmrestd reported an error for partitions: Unspecified error [1]: Unable to query partitions',
    );
  });

  it('401 text/plain (missing or bad JWT headers) is an authentication failure', () => {
    const err = errorOf(() => parseSlurmResponse(401, TEXT_TYPE, text('auth-401.txt'), 'jobs'));
    expect(err).toBeInstanceOf(SlurmUnavailableError);
    expect(err.message).toBe('slurmrestd authentication failed for jobs (HTTP 401): check the JWT user name and token');
    expect((err as SlurmUnavailableError).status).toBe(401);
  });

  it('25.11 answers bad JWT headers with 500 text/plain: still an authentication failure', () => {
    const err = errorOf(() => parseSlurmResponse(500, TEXT_TYPE, text('auth-500-25.11.txt'), 'jobs'));
    expect(err).toBeInstanceOf(SlurmUnavailableError);
    expect(err.message).toContain('authentication failed');
    expect(err.message).toContain('HTTP 500');
  });

  it('error 1007 "Protocol authentication error" is an auth failure with 511 (24.11+) and 500 (23.11/24.05)', () => {
    for (const status of [511, 500]) {
      const err = errorOf(() => parseSlurmResponse(status, JSON_TYPE, text('jwt-1007.json'), 'jobs'));
      expect(err).toBeInstanceOf(SlurmUnavailableError);
      expect(err.message).toBe(
        `slurmrestd authentication failed for jobs (HTTP ${status}): check the JWT user name and token`,
      );
    }
  });

  it('plain-text 404 (unknown endpoint) is NotFoundError', () => {
    const err = errorOf(() => parseSlurmResponse(404, TEXT_TYPE, text('endpoint-404.txt'), 'GET /slurm/v0.0.45/jobs'));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe(
      'GET /slurm/v0.0.45/jobs: slurmrestd has no such endpoint (HTTP 404); is this API version enabled?',
    );
  });

  it('404 JSON with error 2017 (purged or unknown job) is NotFoundError', () => {
    const err = errorOf(() => parseSlurmResponse(404, JSON_TYPE, text('job-2017.json'), 'job 9548'));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe(
      'job 9548: Slurm does not know this job (Invalid job id specified [2017]: Unable to query JobId=9548)',
    );
  });

  it('22.05 answers an unknown job with 500 + 2017: NotFoundError too', () => {
    const err = errorOf(() => parseSlurmResponse(500, JSON_TYPE, text('job-2017-22.05.json'), 'job 42'));
    expect(err).toBeInstanceOf(NotFoundError);
  });

  it('other 5xx is SlurmUnavailableError with the status and Slurm\'s error', () => {
    const err = errorOf(() => parseSlurmResponse(500, JSON_TYPE, text('unspecified-500.json'), 'nodes'));
    expect(err).toBeInstanceOf(SlurmUnavailableError);
    expect((err as SlurmUnavailableError).status).toBe(500);
    expect(err.message).toBe('slurmrestd failed to answer nodes (HTTP 500): Unspecified error [-1]');
    const bare = errorOf(() => parseSlurmResponse(502, TEXT_TYPE, 'Bad Gateway', 'nodes'));
    expect(bare.message).toBe('slurmrestd failed to answer nodes (HTTP 502)');
  });

  it('truncated JSON names what was asked and where it stopped', () => {
    const body = text('truncated.json');
    const err = errorOf(() => parseSlurmResponse(200, JSON_TYPE, body, 'jobs'));
    expect(err).toBeInstanceOf(SlurmResponseError);
    expect(err.message).toBe(`slurmrestd sent truncated JSON for jobs at position ${body.length} of ${body.length}`);
  });

  it('malformed JSON in the middle names the position, never the body', () => {
    const body = '{"jobs": [ {"job_id": 1,, "secret": "tok"} ]}';
    const err = errorOf(() => parseSlurmResponse(200, JSON_TYPE, body, 'jobs'));
    expect(err).toBeInstanceOf(SlurmResponseError);
    expect(err.message).toBe(`slurmrestd sent malformed JSON for jobs at position 24 of ${body.length}`);
    expect(err.message).not.toContain('tok');
  });

  it('a 200 body that is not a JSON object, or not JSON at all, is SlurmResponseError', () => {
    expect(() => parseSlurmResponse(200, JSON_TYPE, '[1,2]', 'jobs')).toThrow(SlurmResponseError);
    expect(() => parseSlurmResponse(200, JSON_TYPE, 'null', 'jobs')).toThrow(/not a JSON object/);
    expect(() => parseSlurmResponse(200, 'text/html', '<html>', 'jobs')).toThrow(
      'slurmrestd sent "text/html" for jobs, expected JSON (HTTP 200)',
    );
    expect(() => parseSlurmResponse(200, JSON_TYPE, '', 'jobs')).toThrow('slurmrestd sent an empty body for jobs (HTTP 200)');
  });

  it('400 (e.g. a bad update_time) is SlurmResponseError', () => {
    const err = errorOf(() => parseSlurmResponse(400, JSON_TYPE, '{"errors": []}', 'jobs'));
    expect(err).toBeInstanceOf(SlurmResponseError);
    expect(err.message).toBe('slurmrestd rejected the request for jobs (HTTP 400)');
  });

  it('reads JSON without a content type when the body looks like JSON', () => {
    expect(parseSlurmResponse(200, undefined, ' {"jobs": []}', 'jobs')).toEqual({ unchanged: false, body: { jobs: [] } });
  });
});
