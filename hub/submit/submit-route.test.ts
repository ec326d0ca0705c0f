// POST /api/v1/jobs/{cluster} refusals name the field they are about (`field` in the problem),
// whether the route's schema or the spec check refused it: the dashboard's submit form shows each
// beside its input.
import { describe, expect, it } from 'vitest';
import { inProcessApi } from '../../test/harness/in-process-api.js';

describe('POST /api/v1/jobs/{cluster}: a refused field is named', () => {
  it('by the schema (a bad type, an unknown key) and by the spec check (a bad value)', async () => {
    const { app, token } = await inProcessApi();
    const post = async (body: object) => {
      const res = await app.inject({ method: 'POST', url: '/api/v1/jobs/c1', headers: { authorization: `Bearer ${token}` }, payload: body });
      return { status: res.statusCode, problem: res.json<{ code: string; field?: string; detail: string }>() };
    };
    expect(await post({ wrap: 'true', nodes: 0 })).toMatchObject({ status: 400, problem: { code: 'SF_API_BAD_REQUEST', field: 'nodes' } });
    expect(await post({ wrap: 'true', ntasks: 'many' })).toMatchObject({ status: 400, problem: { field: 'ntasks' } });
    expect(await post({ wrap: 'true', memory: 10 })).toMatchObject({ status: 400, problem: { field: 'memory' } });
    expect(await post({ wrap: 'true', partition: 'no spaces' })).toMatchObject({ status: 400, problem: { field: 'partition', detail: expect.stringMatching(/^partition: invalid value/) } });
    expect(await post({ script: 'echo no shebang' })).toMatchObject({ status: 400, problem: { field: 'script' } });
    expect(await post({ wrap: 'true', gpus_per_node: 'a100:' })).toMatchObject({ status: 400, problem: { field: 'gpus_per_node' } });
    expect(await post({ wrap: 'true', gpus: 0 })).toMatchObject({ status: 400, problem: { field: 'gpus' } });
    await app.close();
  });
});
