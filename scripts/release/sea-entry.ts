// Entry of the single binary: the same main() as bin/sfleet.js, without top-level await
// (the SEA script is CommonJS). `--version` answers before the CLI's modules are evaluated
// (scripts probe it, and the rest costs ~0.3 s of start-up); esbuild keeps the dynamic import
// inside the bundle as a lazily evaluated module.
import { VERSION } from '../../shared/version.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  void import('../../cli/main.js')
    .then(({ main }) => main(process.argv))
    .then((code) => {
      if (code !== 0) process.exit(code);
    });
}
