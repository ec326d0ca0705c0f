// `sfleet version`: what a bug report needs first. Which release, which Node runs it (the
// single binary embeds its own, see scripts/release/node-version) and on what platform; and
// the third-party notices a release carries (scripts/release/licenses.ts writes them).
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

type Sea = { isSea(): boolean; getAsset(key: string, encoding: string): string };

/** The notices built into the single binary, or beside a release build's dist/. */
async function notices(): Promise<string | undefined> {
  try {
    const sea = (await import('node:sea')) as Sea;
    if (sea.isSea()) return sea.getAsset('THIRD_PARTY_NOTICES.txt', 'utf8');
  } catch {
    // not a single binary (or a Node without node:sea): look for the release build's file
  }
  const { readFileSync } = await import('node:fs');
  try {
    return readFileSync(new URL('../../release/THIRD_PARTY_NOTICES.txt', import.meta.url), 'utf8');
  } catch {
    return undefined;
  }
}

export function registerVersionCommand(program: Command): void {
  program
    .command('version')
    .description('show the release, the Node.js runtime and the platform')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--notices', 'print the third-party notices (licenses of what the release includes)')
    .action(async (opts: { output: string; notices?: boolean }) => {
      if (opts.notices) {
        const text = await notices();
        if (text === undefined) {
          process.stderr.write('no third-party notices here: they are built into the single binary (npm run release writes dist/release/THIRD_PARTY_NOTICES.txt)\n');
          process.exitCode = 1;
        } else process.stdout.write(text);
        return;
      }
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
