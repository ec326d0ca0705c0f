// `npm run chaos [-- --only NAME] [--mode netns|loopback]`: faults in a small clustered fleet
// (fleet.ts) and the invariants after each (scenarios/ in the order of scenarios/index.ts).
// Mode netns (the default where `ip netns add` works, i.e. as root): every process in its own
// network namespace, network faults made by nftables (netns/); else mode loopback: kills and
// TCP-proxy blackholes only. The summary names the mode.
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
import { HaServices, sleep, type ServicePlacement } from '../../test/harness/index.js';
import { keepForScan } from '../test/run-dir.js';
import { account, readBefore, type Summary } from './accounting.js';
import { Fleet, POLL_MS, REGION } from './fleet.js';
import { PeerRegion, REGION_B_NODES } from './region.js';
import { Delayer } from './netns/delayer-process.js';
import { cleanNetns, netnsAvailable, Netns } from './netns/net.js';
import { abort, log, waitFor } from './progress.js';
import { Sampler } from './sampler.js';
import { netnsScenarios, scenarios as loopbackScenarios, type Fault } from './scenarios/index.js';

// A network fault is held (20 s for the loss) before its heal and accounting: more time.
const SCENARIO_MS = { loopback: 60_000, netns: 90_000 };
// The region cut starts region B (etcd x3, Redis, a hub, an agent) inside its scenario.
const REGION_SETUP_MS = 60_000;

/** --only NAME (a substring of a scenario's name; repeatable) and --mode netns|loopback. */
function parseArgs(argv: string[]): { only: string[]; mode?: 'netns' | 'loopback' } {
  const only: string[] = [];
  let mode: 'netns' | 'loopback' | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only' && argv[i + 1]) only.push(argv[++i]);
    else if (argv[i] === '--mode' && (argv[i + 1] === 'netns' || argv[i + 1] === 'loopback')) mode = argv[++i] as 'netns' | 'loopback';
    else throw new Error(`unknown argument ${argv[i]} (--only NAME, --mode netns|loopback)`);
  }
  return { only, mode };
}

/** The namespaces of netns mode: one per hub, etcd member, Redis, agent and the delayer (and region B's). */
function makeNet(): { net: Netns; placement: ServicePlacement } {
  const net = new Netns();
  for (const n of ['hub-1', 'hub-2', 'hub-3', 'etcd1', 'etcd2', 'etcd3', 'redis', 'head1', 'head2', 'delay', ...REGION_B_NODES]) net.add(n);
  const at = (n: string): { host: string; netns: string } => ({ host: net.get(n).address, netns: net.get(n).ns });
  return { net, placement: { etcd: ['etcd1', 'etcd2', 'etcd3'].map(at), redis: at('redis') } };
}

/** A network fault: held, then healed; recovery_ms counts from the heal, against its target. */
async function runNetworkFault(fleet: Fleet, fault: Fault, summary: Summary, marker: () => string): Promise<void> {
  const n = fault.network!;
  const faultAt = Date.now();
  await fault.kill();
  if (n.during) {
    await waitFor('the fleet works around the fault', n.during, 30_000, 50);
    summary.fault_ms = Date.now() - faultAt;
    log(`  worked around the fault in ${summary.fault_ms} ms`);
  }
  await sleep(n.holdMs ?? 2_000);
  await n.heal();
  const healedAt = Date.now();
  // Recovery is the fault's own condition (the cut agent heard again, every hub healthy, one
  // leader); the marker job submitted at the heal then shows the data path end to end (marker_ms:
  // a Slurm poll, the stream and Redis replication, reported apart).
  const id = marker();
  await waitFor('recovery after the heal', () => fault.recovered(), 30_000, 50);
  summary.recovery_ms = Date.now() - healedAt;
  summary.target_ms = n.targetMs;
  await waitFor(
    'the job submitted at the heal on every hub',
    async () => {
      for (const h of fleet.liveHubs()) if (!(await h.jobs()).jobs.has(id)) return false;
      return true;
    },
    30_000,
    50,
  );
  summary.marker_ms = Date.now() - healedAt;
  log(`  recovered ${summary.recovery_ms} ms after the heal (target ${n.targetMs}); the job submitted at the heal on every hub after ${summary.marker_ms} ms`);
  const extra = (await n.report?.()) ?? {};
  const { error, ...figures } = extra;
  Object.assign(summary, figures);
  if (error !== undefined) summary.error = String(error);
  else if (summary.recovery_ms > n.targetMs) summary.error = `recovery took ${summary.recovery_ms} ms, target ${n.targetMs}`;
}

async function main(): Promise<number> {
  const started = Date.now();
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(tmpdir(), 'sfleet-chaos-'));
  let mode = args.mode ?? 'netns';
  if (mode === 'netns') {
    const can = netnsAvailable();
    if (!can.ok && args.mode === 'netns') throw new Error(`--mode netns: ${can.why}`);
    if (!can.ok) {
      mode = 'loopback';
      log(`mode loopback: ${can.why} (the network scenarios need namespaces and do not run)`);
    }
  }
  // Checked before anything is started, so a wrong --only leaves nothing behind.
  const all = mode === 'netns' ? netnsScenarios : loopbackScenarios;
  const scenarios = args.only.length ? all.filter(([name]) => args.only.some((o) => name.includes(o))) : all;
  if (!scenarios.length) throw new Error(`no ${mode} scenario matches ${args.only.join(', ')}: ${all.map(([n]) => n).join('; ')}`);
  const setup = mode === 'netns' ? makeNet() : undefined;
  const net = setup?.net;
  const delayer = net ? new Delayer(net.get('delay'), path.join(dir, 'delayer.log')) : undefined;
  const services = await HaServices.at('chaos', setup?.placement).catch((err: unknown) => {
    if (net) cleanNetns();
    throw err;
  });
  // Region B only when a region scenario runs: region A's hubs then name it as their peer.
  const peer = net && scenarios.some(([name]) => name.includes('region')) ? new PeerRegion(path.join(dir, 'region-b'), net) : undefined;
  const regions = await peer?.peerOfA();
  const fleet = new Fleet(dir, services, net ? { net, delayer, ...(regions ? { regions } : {}) } : {});
  log(`mode: ${mode}, ${scenarios.length} scenario(s)`);
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
    await peer?.stop();
    redis?.disconnect();
    await fleet.sim?.close();
    await services.stop((err) => log(`services stop: ${err.message}`));
    delayer?.stop();
    if (net) cleanNetns(); // namespaces, their veths and the bridge
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
      const summary: Summary = { scenario: name, mode, recovery_ms: null, lost: 0, duplicated: 0, double_leader_actions: 0 };
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
          const fault = await prepare(fleet, { peer });
          if (fault.network) {
            await runNetworkFault(fleet, fault, summary, () => String(engine.submit({ name: `chaos-marker-${++seqMarker}` })));
          } else {
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
          }
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
            const budget = SCENARIO_MS[mode] + (name.includes('region') ? REGION_SETUP_MS : 0);
            timer = setTimeout(() => reject(new Error(`scenario did not finish within ${budget / 1000} s`)), budget);
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
        if (net) for (const n of net.nodes.keys()) net.heal(n);
        delayer?.set(false);
        await services.start(120_000).catch((e: Error) => log(`  services restart: ${e.message}`));
        for (const h of hubs) {
          if (h.alive) continue;
          await h.start().catch(async (e: Error) => {
            // What the hub was doing and whether etcd had a leader: the cause, for the next reader.
            const tail = h.log().trimEnd().split('\n').slice(-3).join(' | ');
            log(`  ${h.id} restart: ${e.message}; etcd raft leader: ${(await services.findEtcdLeader(3_000)) ?? 'none'}; its log ends: ${tail}`);
          });
        }
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
      summary.took_ms = Date.now() - t0;
      log(`  ${ok ? 'ok' : 'FAIL'}: ${JSON.stringify(summary)}`);
    }
    log(`all scenarios done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    log(`setup failed: ${(err as Error).stack ?? String(err)}`);
    results.push({ scenario: 'setup', mode, recovery_ms: null, lost: 0, duplicated: 0, double_leader_actions: 0, error: (err as Error).message });
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
