// `sfleet version`: what a bug report needs first. Which release, which Node runs it (the
// single binary embeds its own, see scripts/release/node-version) and on what platform.
import type { Command } from 'commander';
import { VERSION } from '../../shared/version.js';

/** node:sea exists from Node 20.12; a plain `node bin/sfleet.js` is not a single binary. */
async function isSingleBinary(): Promise<boolean> {
  try {
    const sea = (await import('node:sea')) as { isSea(): boolean };
    return sea.isSea();
  } catch {
    return false;
  }
}

export function registerVersionCommand(program: Command): void {
  program
    .command('version')
    .description('show the release, the Node.js runtime and the platform')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts: { output: string }) => {
      const info = {
        sfleet: VERSION,
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        single_binary: await isSingleBinary(),
      };
      if (opts.output === 'json') {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      process.stdout.write(
        `sfleet ${info.sfleet}\nnode ${info.node}\nplatform ${info.platform}\nsingle binary: ${info.single_binary ? 'yes' : 'no'}\n`,
      );
    });
}
