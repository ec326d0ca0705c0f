// The single binary of the working tree, built once per tree state for every test file that
// needs it (binary, image, booted systemd): the build takes a minute or more, and files run in
// parallel workers. Keyed by HEAD and the uncommitted changes; a file lock makes one worker
// build while the others wait for it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './sfleet-process.js';

function sh(command: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('bash', ['-c', command], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 256 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${stderr}${err.message}`)) : resolve(stdout))),
  );
}

/** The x64 binary of the tree as it is now: built by scripts/release/build-binary.sh, or the earlier build of the same tree. */
export async function releaseBinary(): Promise<string> {
  const state = await sh('git rev-parse HEAD; git status --porcelain; git diff HEAD');
  const key = createHash('sha256').update(state).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'sfleet-test-binary');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `sfleet-${key}`);
  if (!existsSync(out)) {
    await sh(`flock ${join(dir, '.lock')} bash -c '[ -x ${out} ] || { bash scripts/release/build-binary.sh --arch x64 --out ${out}.tmp && mv ${out}.tmp ${out}; }'`, 900_000);
  }
  return out;
}
