import { runSlurm } from '../source/slurm-commands/index.js';
import { SacctmgrAssociations } from './sacctmgr.js';

export { SacctmgrAssociations, parseAssociations } from './sacctmgr.js';

/** sacctmgr and scontrol from the Slurm binaries' directory of the config. */
export function createAssociations(config: { slurm: { cli?: { bin_dir?: string }; timeout?: number } }): SacctmgrAssociations {
  return new SacctmgrAssociations({
    run: (binary, args, signal) =>
      runSlurm(binary, args, { binDir: config.slurm.cli?.bin_dir, timeoutMs: Math.max(config.slurm.timeout ?? 0, 30_000), maxOutputBytes: 64 * 1024 * 1024, signal }),
  });
}
