// The single binary users install (issue 17): its size (ceiling 150 MB) and how long
// `sfleet --version` takes to answer (target <= 300 ms), the median of several runs, with the
// embedded Node's own `node -e 0` measured in the same run beside it (the floor no bundle
// can beat on this machine). Builds the x64 binary with the registry's Node first (~30 s).
import { execFile, execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../../test/harness/index.js';
import { measured, round, type BenchContext, type Measured } from '../lib/context.js';

const run = promisify(execFile);

async function medianMs(file: string, args: string[], runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await run(file, args);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export async function binaryBench(ctx: BenchContext): Promise<Measured[]> {
  const out = join(ctx.workDir, 'sfleet-linux-x64');
  await run('bash', ['scripts/release/build-binary.sh', '--arch', 'x64', '--out', out], { cwd: ROOT, maxBuffer: 16 << 20 });
  const version = execFileSync('cat', [join(ROOT, 'scripts/release/node-version')], { encoding: 'utf8' }).trim();
  const node = execFileSync('bash', [join(ROOT, 'scripts/release/fetch-node.sh'), version, 'x64'], { encoding: 'utf8' }).trim();
  const sizeMb = statSync(out).size / 1e6;
  const runs = ctx.quick ? 5 : 21;
  await run(out, ['--version']); // page cache warm, as for a user's second call
  const versionMs = await medianMs(out, ['--version'], runs);
  const nodeMs = await medianMs(node, ['-e', '0'], runs);
  return [
    measured(ctx, 'binary_size_mb', round(sizeMb, 1), 'MB', { target: '<= 150', met: sizeMb <= 150, note: `linux-x64, Node ${version} embedded, stripped` }),
    measured(ctx, 'binary_version_ms', round(versionMs, 1), 'ms', { target: '<= 300', met: versionMs <= 300, note: `median of ${runs}; bare node -e 0 of the same Node: ${round(nodeMs, 1)} ms` }),
  ];
}
