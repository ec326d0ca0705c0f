import { describe, expect, it } from 'vitest';
import { SlurmResponseError } from '../../../shared/errors/index.js';
import { parseSacctLine, parseSacctOutput, sacctArgs, SacctHistoryReader } from './index.js';

const US = '\u001f';
// As Slurm 22.05's sacct printed it here (SLURM_TIME_FORMAT=%s).
const FAILED_RUN = ['1', 'localcluster', 'alice', 'research', 'debug', 'normal', 'FAILED', '3:0', '1796563225', '1796563226', '1796563227', 'billing=1,cpu=1,mem=500M,node=1', 'node1', 'wrap'].join(US);

describe('sacct history lines', () => {
  it('types a finished run as sacct shows it', () => {
    expect(parseSacctLine(FAILED_RUN)).toEqual({
      cluster: 'localcluster', job_id: 1, submit_time: 1796563225000, start_time: 1796563226000, end_time: 1796563227000,
      name: 'wrap', user: 'alice', account: 'research', partition: 'debug', qos: 'normal', state: 'FAILED',
      exit_code: 3, exit_signal: 0, alloc_tres: 'billing=1,cpu=1,mem=500M,node=1', cpus: 1, gpus: 0, memory_mb: 500,
      node_count: 1, node_list: 'node1', nodes: ['node1'],
    });
  });

  it('keeps a run cancelled while pending (no start, no nodes) and strips "by <uid>"', () => {
    const line = ['7', 'c', 'bob', 'ops', 'batch', 'normal', 'CANCELLED by 0', '0:0', '1796563225', 'Unknown', '1796563300', '', 'None assigned', 'a|b'].join(US);
    const job = parseSacctLine(line);
    expect(job).toMatchObject({ state: 'CANCELLED', start_time: null, node_list: '', nodes: [], name: 'a|b', cpus: 0 });
  });

  it('counts GPUs and memory units from AllocTRES and expands the node list', () => {
    const line = ['9', 'c', 'u', 'a', 'gpu', 'normal', 'COMPLETED', '0:0', '1', '2', '3', 'cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=16G,node=2', 'gpu[01-02]', 'x'].join(US);
    expect(parseSacctLine(line)).toMatchObject({ cpus: 8, gpus: 2, memory_mb: 16384, node_count: 2, nodes: ['gpu01', 'gpu02'] });
  });

  it('refuses a line with the wrong number of fields or without an end time', () => {
    expect(() => parseSacctLine('1|2|3')).toThrow(SlurmResponseError);
    const noEnd = FAILED_RUN.replace(`${US}1796563227${US}`, `${US}Unknown${US}`);
    expect(() => parseSacctLine(noEnd)).toThrow(/without a submit or end time/);
  });

  it('asks sacct for every user, allocations only, every run, ended in the window', () => {
    const args = sacctArgs({ since: Date.UTC(2026, 11, 6, 10), until: Date.UTC(2026, 11, 6, 11) });
    expect(args).toEqual(expect.arrayContaining(['-a', '-X', '--duplicates', '-S', '2026-12-06T10:00:00', '-E', '2026-12-06T11:00:00']));
    expect(args[args.indexOf('--state') + 1]).toContain('CD');
  });

  it('reports a failing sacct as a Slurm response error, and reads the lines of a good one', async () => {
    const bad = new SacctHistoryReader({ cluster: 'prod-a', run: async () => ({ code: 1, stdout: '', stderr: 'sacct: error: Problem talking to the database' }) });
    await expect(bad.read({ since: 0, until: 1000 })).rejects.toThrow(/Problem talking to the database/);
    const good = new SacctHistoryReader({ cluster: 'prod-a', run: async () => ({ code: 0, stdout: `${FAILED_RUN}\n${FAILED_RUN}\n`, stderr: '' }) });
    expect((await good.read({ since: 0, until: 1000 })).map((j) => j.cluster)).toEqual(['prod-a', 'prod-a']);
    expect(parseSacctOutput('')).toEqual([]);
  });
});
