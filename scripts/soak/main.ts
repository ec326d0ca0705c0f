// `npm run soak -- --minutes N`: the chaos fleet (scripts/chaos/fleet.ts: 3 hubs on a private
// etcd x3 and Redis, a simulated cluster under steady churn, its two agents) for N minutes, with
// the extra hub (hub-3) and the standby agent (head2) restarted in turn every --restart-every
// seconds, by SIGTERM or SIGKILL. Every --sample-every seconds it records, per process, RSS
// (/proc/PID/status), JS heap in use and active handles (the process's own /metrics), open file
// descriptors (/proc/PID/fd) and the cluster's job count; and, reported but not judged, where
// the RSS is: anonymous and file-backed (/proc/PID/smaps_rollup), threads, and V8's external and
// ArrayBuffer memory (its /metrics).
// The processes that run the whole soak (hub-1, the leader; hub-2; head1, the active agent) are
// judged (verdict.ts): after the warm-up (5 minutes, or the run less one minute when it is
// shorter than 6) their RSS and heap must end within 10% and their descriptors within +/-5 of
// the warm-up values. The churn they live through (reconnects, standby streams, a peer hub
// leaving and coming back) is where a leak would show.
// --heap-snapshots-at M1,M2 (minutes) writes a V8 heap snapshot of hub-1 at those times into
// --heap-snapshot-dir (default: the run's directory, kept): compare two with
// `node dist/scripts/soak/heap-diff.js EARLY LATE` to see which objects grow.
// Progress goes to stderr; stdout is the JSON report (also written to --report FILE). Exit 1
// with the table when a bound is broken or the fleet fails.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { memory, openFds } from '../bench/lib/proc.js';
import { Fleet, type Agent, type Hub } from '../chaos/fleet.js';
import { log } from '../chaos/progress.js';
import { freePort, HaServices, sleep } from '../../test/harness/index.js';
import { breakdownAt, memoryBreakdown } from './memory-breakdown.js';
import { DEFAULT_BOUNDS, judge, table, type Check, type Sample } from './verdict.js';

interface Options {
  minutes: number;
  warmupMinutes: number;
  restartEveryS: number;
  sampleEveryS: number;
  report?: string;
  heapSnapshotsAt: number[];
  heapSnapshotDir?: string;
}

function usage(why: string): never {
  process.stderr.write(`${why}\nusage: npm run soak -- [--minutes N] [--warmup M] [--restart-every S] [--sample-every S] [--report FILE] [--heap-snapshots-at M1,M2 [--heap-snapshot-dir DIR]]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Partial<Options> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const raw = argv[++i] ?? usage(`${arg} needs a value`);
    const num = (): number => (/^\d+(\.\d+)?$/.test(raw) && Number(raw) > 0 ? Number(raw) : usage(`${arg}: not a positive number: ${raw}`));
    if (arg === '--minutes') o.minutes = num();
    else if (arg === '--warmup') o.warmupMinutes = num();
    else if (arg === '--restart-every') o.restartEveryS = num();
    else if (arg === '--sample-every') o.sampleEveryS = num();
    else if (arg === '--report') o.report = path.resolve(raw);
    else if (arg === '--heap-snapshots-at') o.heapSnapshotsAt = raw.split(',').map((m) => (/^\d+(\.\d+)?$/.test(m) ? Number(m) : usage(`${arg}: not a list of minutes: ${raw}`)));
    else if (arg === '--heap-snapshot-dir') o.heapSnapshotDir = path.resolve(raw);
    else usage(`unknown argument ${arg}`);
  }
  const minutes = o.minutes ?? 10;
  const warmupMinutes = o.warmupMinutes ?? Math.min(5, minutes - 1);
  if (warmupMinutes >= minutes) usage(`--warmup (${warmupMinutes} min) must be shorter than --minutes (${minutes})`);
  return { minutes, warmupMinutes, restartEveryS: o.restartEveryS ?? 45, sampleEveryS: o.sampleEveryS ?? 10, report: o.report, heapSnapshotsAt: o.heapSnapshotsAt ?? [], heapSnapshotDir: o.heapSnapshotDir };
}

/** One process's figures now; `metrics` is its /metrics text (undefined when it did not answer). */
function sampleOf(t: number, pid: number, metrics: string | undefined, prefix: string): Sample {
  const sum = (name: string): number | undefined => {
    if (metrics === undefined) return undefined;
    const lines = metrics.split('\n').filter((l) => l.startsWith(`${prefix}${name} `) || l.startsWith(`${prefix}${name}{`));
    return lines.length ? lines.reduce((n, l) => n + Number(l.split(' ').pop()), 0) : undefined;
  };
  const mibOf = (name: string): number | undefined => {
    const bytes = sum(name);
    return bytes === undefined ? undefined : Math.round(bytes / 1024 / 102.4) / 10;
  };
  const optional = { heap_mib: mibOf('nodejs_heap_size_used_bytes'), heap_total_mib: mibOf('nodejs_heap_size_total_bytes'), handles: sum('nodejs_active_handles'), ...memoryBreakdown(pid), external_mib: mibOf('nodejs_external_memory_bytes'), array_buffers_mib: mibOf('nodejs_array_buffers_bytes') };
  const defined = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined));
  return { t, rss_mib: Math.round(memory(pid).rssMiB * 10) / 10, fds: openFds(pid), ...defined };
}

async function agentMetrics(port: number): Promise<string | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
    return r.ok ? await r.text() : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(tmpdir(), 'sfleet-soak-'));
  // Every sfleet child inherits process.env: a hub then writes a snapshot when sent SIGUSR2.
  const snapDir = o.heapSnapshotsAt.length ? (o.heapSnapshotDir ?? mkdtempSync(path.join(tmpdir(), 'sfleet-soak-heap-'))) : undefined;
  if (snapDir) {
    mkdirSync(snapDir, { recursive: true });
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapDir}`.trim();
  }
  const snapsDue = [...o.heapSnapshotsAt].sort((a, b) => a - b);
  const services = await HaServices.at('soak');
  const observePorts = new Map<string, number>();
  // Steady churn: the simulator's own arrivals are long jobs that pile up (its state, and every
  // hub's and agent's with it, would grow all run: memory would have an honest reason to grow).
  // Instead the soak submits one short job a second (20-40 s, listed for a minute after it ends),
  // so as many jobs leave as arrive and the job count levels off (the report's `jobs`).
  const fleet = new Fleet(dir, services, {
    jobs: 40,
    arrivalPerMin: 0,
    minJobAgeS: 60,
    // A soak runs for long on machines that do other work: a slow start is not its finding.
    readyTimeoutMs: 120_000,
    // The watch feed keeps the newest limits.watch_replay events, each with its object: at the
    // soak's ~8 events/s the default 10,000 fills for ~20 minutes, growth the bounds cannot tell
    // from a leak. 2,000 fills within the warm-up, so what grows after it is not that ring.
    hubConfig: { limits: { watch_replay: 2_000 } },
    agentConfig: async (name) => {
      const port = await freePort();
      observePorts.set(name, port);
      return { observe: { listen: `127.0.0.1:${port}` } };
    },
  });
  const series: Record<string, Sample[]> = {};
  const jobs: { t: number; jobs: number }[] = [];
  const restarts: { t: number; what: string; ok: boolean; detail?: string }[] = [];
  let failure: string | undefined;
  let arrivals: NodeJS.Timeout | undefined;
  let stopping = false;
  const cleanup = async (): Promise<void> => {
    clearInterval(arrivals);
    fleet.stopChurn();
    for (const a of fleet.agents) {
      await a.proc?.kill('SIGKILL');
      for (const p of a.proxies) await p.close();
    }
    for (const h of fleet.hubs) await h.kill();
    await fleet.sim?.close();
    await services.stop((err) => log(`services stop: ${err.message}`));
    if (process.env.SOAK_KEEP) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  // Ctrl-C: the loop stops at its next sample and the fleet is cleaned up below.
  process.once('SIGINT', () => {
    stopping = true;
    failure ??= 'interrupted';
  });
  let checks: Check[] = [];
  try {
    log(`soak: ${o.minutes} min (warm-up ${o.warmupMinutes} min), restarts every ${o.restartEveryS} s, samples every ${o.sampleEveryS} s`);
    await fleet.start();
    fleet.setChurn(true);
    let n = 0;
    arrivals = setInterval(() => fleet.engine.submit({ name: `soak-${++n}`, cpus: 1, durationS: 20 + (n % 21), timeLimitMin: 5 }), 1_000);
    const [hub1, hub2, hub3] = fleet.hubs;
    const [head1, head2] = fleet.agents;
    const judged: { name: string; hub?: Hub; agent?: Agent }[] = [{ name: 'hub-1', hub: hub1 }, { name: 'hub-2', hub: hub2 }, { name: 'head1', agent: head1 }];
    // hub-3 and head2 in turn, each by SIGTERM then by SIGKILL.
    const turns: { what: string; run: () => Promise<void> }[] = [
      { what: 'hub-3 SIGTERM + start', run: async () => (await hub3.kill('SIGTERM'), void (await hub3.start())) },
      { what: 'head2 SIGKILL + start', run: async () => (await head2.proc?.kill('SIGKILL'), head2.start()) },
      { what: 'hub-3 SIGKILL + start', run: async () => (await hub3.kill('SIGKILL'), void (await hub3.start())) },
      { what: 'head2 SIGTERM + start', run: async () => (await head2.proc?.kill('SIGTERM'), head2.start()) },
    ];
    const t0 = Date.now();
    const endAt = t0 + o.minutes * 60_000;
    let nextRestart = t0 + o.restartEveryS * 1000;
    let turn = 0;
    let restarting: Promise<void> | undefined;
    while (Date.now() < endAt && !stopping) {
      const t = Math.round((Date.now() - t0) / 1000);
      for (const j of judged) {
        const alive = j.hub ? j.hub.alive : j.agent!.alive;
        if (!alive && !stopping) throw new Error(`${j.name} exited during the soak (see its log in ${dir}; SOAK_KEEP=1 keeps it)`);
        if (!alive) break;
        const pid = j.hub ? j.hub.pid : j.agent!.proc!.child!.pid!;
        const metrics = j.hub ? await j.hub.raw('/metrics').then((r) => (r.status === 200 ? r.body : undefined), () => undefined) : await agentMetrics(observePorts.get(j.name)!);
        (series[j.name] ??= []).push(sampleOf(t, pid, metrics, j.hub ? 'sfleet_hub_' : 'sfleet_agent_'));
      }
      jobs.push({ t, jobs: fleet.engine.jobCount });
      if (snapsDue.length && t >= snapsDue[0] * 60 && hub1.alive) {
        snapsDue.shift();
        process.kill(hub1.pid, 'SIGUSR2');
        log(`heap snapshot of hub-1 (pid ${hub1.pid}) at t=${t}s into ${snapDir}`);
      }
      // A restart runs beside the sampling (a hub takes seconds to be ready on a busy machine).
      if (Date.now() >= nextRestart && !restarting) {
        const r = turns[turn++ % turns.length];
        log(`restart: ${r.what}`);
        restarting = r.run().then(
          () => void restarts.push({ t, what: r.what, ok: true }),
          (err: Error) => {
            restarts.push({ t, what: r.what, ok: false, detail: err.message });
            log(`  ${r.what} failed: ${err.message}`);
          },
        );
        void restarting.finally(() => {
          restarting = undefined;
          nextRestart = Date.now() + o.restartEveryS * 1000;
        });
      }
      if (t % 60 < o.sampleEveryS) log(`t=${t}s ${judged.map((j) => { const s = series[j.name].at(-1)!; return `${j.name} rss ${s.rss_mib} (anon ${s.anon_mib ?? '?'}, heap ${s.heap_mib ?? '?'} of ${s.heap_total_mib ?? '?'}, ext ${s.external_mib ?? '?'}) MiB fds ${s.fds}`; }).join(', ')}, ${jobs.at(-1)!.jobs} jobs`);
      await sleep(Math.max(0, Math.min(o.sampleEveryS * 1000, endAt - Date.now())));
    }
    await restarting;
    checks = judge(series, { ...DEFAULT_BOUNDS, warmupS: o.warmupMinutes * 60 });
    if (restarts.some((r) => !r.ok)) failure = 'a restart failed';
  } catch (err) {
    failure ??= (err as Error).message;
    log(`soak failed: ${(err as Error).stack ?? failure}`);
  } finally {
    log('cleaning up');
    await cleanup();
  }
  const broken = checks.filter((c) => !c.ok);
  const ok = !failure && broken.length === 0 && checks.length > 0;
  const report = { ok, minutes: o.minutes, warmup_minutes: o.warmupMinutes, restart_every_s: o.restartEveryS, bounds: DEFAULT_BOUNDS, ...(failure ? { error: failure } : {}), checks, breakdown: breakdownAt(series, [0, 5, 15, 25, 45]), restarts, jobs, series };
  const text = `${JSON.stringify(report, null, 2)}\n`;
  if (o.report) writeFileSync(o.report, text);
  if (checks.length) process.stderr.write(`\n${table(checks)}\n\n`);
  log(ok ? 'soak ok' : `soak FAILED: ${failure ?? `${broken.length} value(s) out of bounds`}`);
  process.stdout.write(text);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
