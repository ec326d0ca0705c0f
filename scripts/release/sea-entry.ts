// The single binary's main script: `--version` answers at once (scripts probe it); anything else
// runs one of the embedded programs (embedded-script.ts): the agent's own for `sfleet agent ...`,
// so an agent holds none of the hub's code, else the whole CLI. Kept tiny on purpose: V8 holds
// this script's source for the life of the process.
import Module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { VERSION } from '../../shared/version.js';
import { loadEmbeddedProgram } from './embedded-program.js';
import { AGENT_V8_FLAGS, EMBEDDED_SCRIPTS } from './embedded-script.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else if (args[0] === 'agent') {
  for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag); // before the agent's program compiles
  run(EMBEDDED_SCRIPTS.agent);
} else {
  run(EMBEDDED_SCRIPTS.cli);
}

/** Runs a program; the CLI's with Node's compile cache. */
function run(name: string): void {
  // Compiling the 9 MB CLI is most of a client command's start-up: Node keeps V8's code cache of it
  // on disk from the first run on. Per user (login nodes are shared; the cache is code this
  // process runs): NODE_COMPILE_CACHE, else $XDG_CACHE_HOME or ~/.cache, under sfleet/. Without
  // a writable home it is simply not kept.
  if (name === EMBEDDED_SCRIPTS.cli) {
    const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    try {
      (Module as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache?.(process.env.NODE_COMPILE_CACHE || join(cacheHome, 'sfleet', 'compile-cache'));
    } catch {
      // No cache: the program compiles as without one.
    }
  }
  loadEmbeddedProgram(name);
}
