import { describe, expect, it } from 'vitest';
import type { RunResult } from '../source/slurm-commands/index.js';
import { parseAssociations, SacctmgrAssociations } from './sacctmgr.js';

// `sacctmgr -n -P show assoc format=Account,User,Partition,GrpJobs,GrpSubmit,GrpTRES,MaxJobs,MaxSubmit` on Slurm 22.05.
const LISTED = ['root|||||||', 'ops||||4|||', 'ops|bob||||||', 'research|||2||cpu=8,mem=1000M,gres/gpu=2,billing=9||', 'research|alice|||||3|', 'research|alice|debug|1||||'].join('\n');

function fake(answers: Partial<Record<string, RunResult>> = {}) {
  const calls: string[][] = [];
  const run = async (binary: string, args: string[]): Promise<RunResult> => {
    calls.push([binary, ...args]);
    if (binary === 'scontrol') return { code: 0, stdout: 'Configuration data as of ...\nAccountingStorageEnforce = associations,limits,qos\nClusterName             = tiny\n', stderr: '' };
    if (args[1] === 'modify') return answers.modify ?? { code: 0, stdout: ' Modified account associations...\n', stderr: '' };
    return { code: 0, stdout: LISTED, stderr: '' };
  };
  return { calls, tool: new SacctmgrAssociations({ run }) };
}

describe('association limits with sacctmgr (agent)', () => {
  it("reads sacctmgr's associations into limit keys: memory in MB, TRES it does not write left out, partition rows skipped", () => {
    expect(parseAssociations(LISTED)).toEqual([
      { account: 'root', user: '', limits: {} },
      { account: 'ops', user: '', limits: { GrpSubmitJobs: '4' } },
      { account: 'ops', user: 'bob', limits: {} },
      { account: 'research', user: '', limits: { GrpJobs: '2', 'GrpTRES:cpu': '8', 'GrpTRES:mem': '1000', 'GrpTRES:gres/gpu': '2' } },
      { account: 'research', user: 'alice', limits: { MaxJobs: '3' } },
    ]);
  });

  it('writes one association of this cluster only, with GrpTRES in one argument', async () => {
    const f = fake();
    await f.tool.handle(JSON.stringify({ op: 'set', account: 'research', user: '', set: { GrpJobs: '2', 'GrpTRES:cpu': '8', 'GrpTRES:mem': '-1' } }));
    await f.tool.handle(JSON.stringify({ op: 'set', account: 'research', user: 'alice', set: { MaxJobs: '3' } }));
    const modifies = f.calls.filter((c) => c[2] === 'modify');
    expect(modifies).toEqual([
      ['sacctmgr', '-i', 'modify', 'account', 'where', 'name=research', 'cluster=tiny', 'set', 'GrpJobs=2', 'GrpTRES=cpu=8,mem=-1'],
      ['sacctmgr', '-i', 'modify', 'user', 'where', 'name=alice', 'account=research', 'cluster=tiny', 'set', 'MaxJobs=3'],
    ]);
    expect(f.calls.filter((c) => c[0] === 'scontrol')).toHaveLength(1);
  });

  it('refuses anything but checked names and whole numbers, and reports sacctmgr refusing or a missing association', async () => {
    const f = fake();
    await expect(f.tool.handle(JSON.stringify({ op: 'set', account: 'research where name=ops', set: { GrpJobs: '1' } }))).rejects.toThrow(/invalid account/);
    await expect(f.tool.handle(JSON.stringify({ op: 'set', account: 'research', set: { GrpJobs: '1 MaxJobs=0' } }))).rejects.toThrow(/GrpJobs must be a whole number or -1/);
    await expect(f.tool.handle(JSON.stringify({ op: 'set', account: 'research', set: { Fairshare: '1' } }))).rejects.toThrow(/unknown limit "Fairshare"/);
    await expect(f.tool.handle('{"op":"drop"}')).rejects.toThrow(/unknown op "drop"/);
    expect(f.calls.filter((c) => c[2] === 'modify')).toEqual([]);
    await expect(f.tool.handle(JSON.stringify({ op: 'set', account: 'chem', set: { GrpJobs: '1' } }))).rejects.toThrow(/no association of account chem on cluster tiny/);
    const refusing = fake({ modify: { code: 1, stdout: '', stderr: ' Unknown option: GrpJobs=x\n' } });
    await expect(refusing.tool.handle(JSON.stringify({ op: 'set', account: 'research', set: { GrpJobs: '1' } }))).rejects.toThrow(/sacctmgr modify account research: Unknown option/);
  });
});
