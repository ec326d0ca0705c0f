// The previous release for the upgrade test: the commit named in scripts/release/previous-release
// (where the packaging issue started), built from git into a cache once per commit. Its
// dependencies are a subset of today's at the same ranges, so it runs on this checkout's
// node_modules; a dependency it names that is not installed here stops the build with its name.
// Only the upgrade test builds it (one file, so no lock). A shallow clone fetches the one commit.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './sfleet-process.js';

export const PREVIOUS_RELEASE = readFileSync(join(ROOT, 'scripts/release/previous-release'), 'utf8').trim();

function sh(command: string, cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('bash', ['-c', command], { cwd, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${command}: ${stderr}${stdout}${err.message}`)) : resolve(stdout))),
  );
}

/**
 * A shallow clone (CI's checkout may be one) lacks the commit: fetch that one commit, depth 1
 * (git archive needs only its tree). Where even that fails, say what to do.
 */
async function fetchCommit(sha: string): Promise<void> {
  const shallow = (await sh('git rev-parse --is-shallow-repository', ROOT, 10_000).catch(() => '')).trim() === 'true';
  const why = await sh(`git fetch --quiet --depth=1 origin ${sha}`, ROOT, 300_000).then(
    () => sh(`git cat-file -e ${sha}^{commit}`, ROOT, 10_000).then(() => undefined),
    (err: Error) => err.message.split('\n').find((l) => l.trim()) ?? err.message,
  );
  if (why === undefined) return;
  throw new Error(`this checkout has no commit ${sha}, the previous release the upgrade test builds from git${shallow ? ' (a shallow clone)' : ''}, and fetching it from origin failed (${why}); run: git fetch origin ${sha} (or git fetch --unshallow)`);
}

/** The built checkout of the previous release (bin/sfleet.js runs it). */
export async function previousRelease(): Promise<string> {
  const sha = PREVIOUS_RELEASE;
  await sh(`git cat-file -e ${sha}^{commit}`, ROOT, 10_000).catch(() => fetchCommit(sha));
  const cache = join(tmpdir(), 'sfleet-previous-release');
  const dir = join(cache, sha.slice(0, 12));
  if (existsSync(join(dir, 'dist/cli/main.js'))) {
    // A cache built from another checkout (a worktree since removed) links that checkout's
    // node_modules: the previous release runs on this one's, as when it is built.
    const link = join(dir, 'node_modules');
    if (!existsSync(join(link, 'commander')) || realpathSync(link) !== realpathSync(join(ROOT, 'node_modules'))) {
      rmSync(link, { force: true });
      symlinkSync(join(ROOT, 'node_modules'), link);
    }
    return dir;
  }
  mkdirSync(cache, { recursive: true });
  const tmp = `${dir}.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  await sh(`git archive ${sha} | tar -x -C ${tmp}`, ROOT, 120_000);
  const pkg = JSON.parse(readFileSync(join(tmp, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const missing = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => !existsSync(join(ROOT, 'node_modules', d)));
  if (missing.length) throw new Error(`the previous release ${sha} needs ${missing.join(', ')}, not installed in this checkout`);
  symlinkSync(join(ROOT, 'node_modules'), join(tmp, 'node_modules'));
  await sh('node node_modules/typescript/bin/tsc -p tsconfig.json', tmp, 600_000);
  // A rename: a build cut short never looks finished.
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
