import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{agent,hub,shared,cli,sim,scripts}/**/*.test.ts'],
          testTimeout: 20_000,
          // A file handle left open by a test is closed by this collection, in its own file.
          execArgv: ['--expose-gc'],
          setupFiles: ['scripts/test/collect-garbage.ts'],
        },
      },
      {
        // Checks against third-party data kept beside the repository (../shared), not in it.
        test: {
          name: 'shared-data',
          include: ['{agent,hub,shared,cli,sim,scripts}/**/*.shared-test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // One local Slurm, one set of ports: integration files run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
