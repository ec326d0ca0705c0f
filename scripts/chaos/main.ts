// `npm run chaos`: kills parts of a small clustered fleet on loopback (fleet.ts) and checks the
// invariants after each kill (scenarios/ in the order of scenarios/index.ts).
//
// Per scenario: the fault, then a marker job submitted to Slurm; recovery_ms = the fault until
// every live hub shows the marker (and, for hub and etcd faults, exactly one hub leads). Then
// the killed part restarts, Slurm stops changing, and the accounting (accounting.ts) counts lost
// and duplicated deltas and double-leader actions.
// Progress goes to stderr; stdout is only the JSON summary. Exit 1 when any invariant fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { HaServices, sleep } from '../../test/harness/index.js';
import { keepForScan } from '../test/run-dir.js';
import { account, readBefore, type Summary } from './accounting.js';
import { Fleet, POLL_MS, REGION } from './fleet.js';
import { abort, log, waitFor } from './progress.js';
import { Sampler } from './sampler.js';
import { scenarios } from './scenarios/index.js';

const SCENARIO_MS = 60_000;

async function main(): Promise<number> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'sfleet-chaos-'));
  const services = await HaServices.at('chaos');
  const fleet = new Fleet(dir, services);
  const { hubs, agents } = fleet;
  let redis: Redis | undefined;
  let sampler: Sampler | undefined;
  const results: Summary[] = [];
  const cleanup = async (): Promise<void> => {
    fleet.stopChurn();
    await sampler?.stop();
    for (const a of agents) {
      await a.proc?.kill('SIGKILL');
      for (const p of a.proxies) await p.close();
    }
    for (const h of hubs) await h.kill();
    redis?.disconnect();
    await fleet.sim?.close();
    await services.stop((err) => log(`services stop: ${err.message}`));
    if (process.env.SFLEET_TEST_LOG_DIR) keepForScan(dir, 'chaos'); // npm test scans them for secrets
    if (process.env.CHAOS_KEEP) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    log(`starting etcd x3 and Redis (${services.dir})`);
    await fleet.start();
    const engine = fleet.engine;
    redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false }).on('error', () => undefined);
    sampler = new Sampler(hubs, redis, `sfleet:${REGION}:fence`);
    sampler.start();

    let seqMarker = 0;
    for (const [name, prepare] of scenarios) {
      const summary: Summary = { scenario: name, recovery_ms: null, lost: 0, duplicated: 0, double_leader_actions: 0 };
      results.push(summary);
      const t0 = Date.now();
      log(`scenario: ${name}`);
      let timer: NodeJS.Timeout | undefined;
      let body: Promise<void> | undefined;
      try {
        body = (async () => {
          // Steady state first: every hub equal to Slurm, one leader, both agents up.
          fleet.setChurn(true);
          await waitFor('steady state', async () => (await fleet.oneLeader()) && (await fleet.tookOver(fleet.active, -1)), 20_000);
          await sleep(1_000);
          sampler!.reset();
          const before = await readBefore(fleet);
          const fault = await prepare(fleet);
          const killedAt = Date.now();
          await fault.kill();
          const marker = engine.submit({ name: `chaos-marker-${++seqMarker}` });
          const markerId = String(marker);
          await waitFor(
            'recovery (marker job on every live hub)',
            async () => {
              for (const h of hubs.filter((x) => x.alive)) if (!(await h.jobs()).jobs.has(markerId)) return false;
              return fault.recovered();
            },
            40_000,
            50,
          );
          summary.recovery_ms = Date.now() - killedAt;
          log(`  recovered in ${summary.recovery_ms} ms`);
          await fault.restore();
          // Quiesce: Slurm stops changing, every hub converges on it.
          fleet.setChurn(false);
          await waitFor('hubs converged on Slurm', () => fleet.converged(), 20_000, 200);
          await sleep(2 * POLL_MS);
          await sampler!.sample();
          await account(fleet, sampler!, before, summary);
        })();
        await Promise.race([
          body,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`scenario did not finish within ${SCENARIO_MS / 1000} s`)), SCENARIO_MS);
          }),
        ]);
      } catch (err) {
        summary.error = (err as Error).message;
        log(`  FAILED: ${summary.error}`);
        // Stop what is left of the scenario before repairing the fleet under it.
        abort.aborted = true;
        await body?.catch(() => undefined);
        abort.aborted = false;
        // Bring everything back for the next scenario.
        fleet.setChurn(false);
        await services.start(120_000).catch((e: Error) => log(`  services restart: ${e.message}`));
        for (const h of hubs) if (!h.alive) await h.start().catch((e: Error) => log(`  ${h.id} restart: ${e.message}`));
        for (const a of agents) {
          for (const p of a.proxies) p.restore();
          if (!a.alive) a.start();
        }
        await sleep(3_000);
        const owner = (await hubs[0].cluster().catch(() => undefined))?.agent;
        fleet.active = agents.find((a) => a.name === owner) ?? fleet.active;
      } finally {
        clearTimeout(timer);
      }
      const ok = !summary.error && summary.lost === 0 && summary.duplicated === 0 && summary.double_leader_actions === 0;
      log(`  ${ok ? 'ok' : 'FAIL'}: ${JSON.stringify(summary)} (${Date.now() - t0} ms)`);
    }
    log(`all scenarios done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    log(`setup failed: ${(err as Error).stack ?? String(err)}`);
    results.push({ scenario: 'setup', recovery_ms: null, lost: 0, duplicated: 0, double_leader_actions: 0, error: (err as Error).message });
  } finally {
    log('cleaning up');
    await cleanup();
  }
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return results.every((s) => !s.error && s.lost === 0 && s.duplicated === 0 && s.double_leader_actions === 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
