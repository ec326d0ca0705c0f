// Issue 12, a flood of logins must not slow the hub for everyone else. login_flood_p99_ratio: one
// standalone hub; an admin (client certificate) makes audited changes (POST /api/v1/tokens, an
// audit record and tokens.json written before the answer) one after another, first alone, then
// while 40 anonymous callers keep posting wrong passwords for a local user (each one a scrypt hash
// in the hub's password pool; the login limits are raised so that every attempt is hashed). The
// figure is p99 with the flood over p99 without, measured in the same run. Target: <= 1.5.
// Each phase runs for a fixed time (10 s, quick 3 s: thousands of commands), so p99 is not the
// second-worst of a hundred. Each token is revoked after its creation is timed, so the store stays
// the same size through both phases.
import { join } from 'node:path';
import { httpsCall, LoginHub, sfleet } from '../../../test/harness/index.js';
import { measured, percentile, round, type BenchContext, type Measured } from '../lib/context.js';
import { threadTimes, type ThreadTimes } from '../lib/proc.js';

const FLOODERS = 40;

export async function loginFloodBench(ctx: BenchContext): Promise<Measured[]> {
  const phaseMs = ctx.quick ? 3_000 : 10_000;
  // --profile: CPU profiles of the hub (its main thread and its hash threads), written at its exit.
  // Node's default names tell the threads apart.
  const nodeArgs = ctx.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.workDir, 'profiles', 'login-flood-hub')}`] : [];
  const hub = new LoginHub(join(ctx.workDir, 'login-flood'), ctx.pki, {
    log_level: 'warn',
    // The bench PKI's client certificate is named bench (scripts/bench/main.ts).
    rbac: { bindings: [{ client: 'bench', role: 'admin' }] },
    auth: { rate_limit: { max_failures_per_user: 1000, max_failures_per_source: 1000, max_failures_per_ip: 100_000, window: '1s', lockout: '1s' } },
  }, process.env, { nodeArgs });
  await sfleet(['user', 'add', 'flood', '--data-dir', hub.dataDir], { ...process.env, SFLEET_USER_PASSWORD: 'the right password, never sent' });
  const admin = { ca: ctx.pki.ca, cert: ctx.pki.client.cert, key: ctx.pki.client.key, timeoutMs: 30_000 };
  let n = 0;
  /** Latencies (ms) of audited token creations, one at a time, for `ms` (or `count` of them). */
  const commands = async (ms: number, count = Infinity): Promise<number[]> => {
    const took: number[] = [];
    for (const t0 = performance.now(); took.length < count && performance.now() - t0 < ms; ) {
      const t0 = performance.now();
      const made = await httpsCall(`${hub.httpUrl}/api/v1/tokens`, { ...admin, method: 'POST', body: { name: `bench-${n++}`, roles: ['viewer'] } });
      took.push(performance.now() - t0);
      if (made.status !== 201) throw new Error(`token create: ${made.status} ${made.body}`);
      // Revoked again (not timed), so both phases see the same number of tokens: tokens.json is
      // rewritten whole on each change, and a phase run on a larger file is not the same command.
      const revoked = await httpsCall(`${hub.httpUrl}/api/v1/tokens/${encodeURIComponent((JSON.parse(made.body) as { id: string }).id)}`, { ...admin, method: 'DELETE' });
      if (revoked.status !== 200 && revoked.status !== 204) throw new Error(`token revoke: ${revoked.status} ${revoked.body}`);
    }
    return took.sort((a, b) => a - b);
  };
  try {
    await hub.start();
    await commands(Infinity, 50); // warm-up
    // Where each phase's time went in the hub: its threads' CPU and their waits for a CPU.
    const phase = async <T>(run: () => Promise<T>): Promise<{ value: T; seconds: number; threads: string }> => {
      const [t0, before] = [performance.now(), threadTimes(hub.pid)];
      const value = await run();
      const [seconds, after] = [(performance.now() - t0) / 1000, threadTimes(hub.pid)];
      const d = (k: keyof typeof after, f: keyof ThreadTimes): number => Math.round(after[k][f] - before[k][f]);
      const threads = (['main', 'niced', 'other'] as const).map((k) => `${k} ${d(k, 'cpuMs')} ms cpu / ${d(k, 'waitMs')} ms waiting`).join(', ');
      return { value, seconds, threads };
    };
    const aloneRun = await phase(() => commands(phaseMs));
    const alone = aloneRun.value;
    let flooding = true;
    let logins = 0;
    const flooders = Array.from({ length: FLOODERS }, async () => {
      while (flooding) {
        await httpsCall(`${hub.httpUrl}/api/v1/auth/login`, { method: 'POST', body: { username: 'flood', password: 'wrong' }, ca: ctx.pki.ca, timeoutMs: 60_000 }).catch(() => undefined);
        logins++;
      }
    });
    // Measure the flood at its steady state: every hash thread busy, answers coming back (the
    // first answers take a hash each).
    for (const t0 = Date.now(); logins < 4 && Date.now() - t0 < 60_000; ) await new Promise((r) => setTimeout(r, 50));
    const duringRun = await phase(async () => {
      const from = logins;
      const took = await commands(phaseMs);
      return { took, logins: logins - from };
    });
    const during = duringRun.value.took;
    flooding = false;
    await Promise.all(flooders);
    const [p99Alone, p99Flood] = [percentile(alone, 99), percentile(during, 99)];
    const ratio = p99Flood / p99Alone;
    ctx.log(`login-flood: admin command p99 ${round(p99Alone, 1)} ms alone (${alone.length} commands), ${round(p99Flood, 1)} ms (${during.length} commands) during ${FLOODERS} flooding login callers (${duringRun.value.logins} logins answered meanwhile); ratio ${round(ratio, 2)}`);
    ctx.log(`login-flood: hub threads alone (${round(aloneRun.seconds, 1)} s): ${aloneRun.threads}`);
    ctx.log(`login-flood: hub threads flooded (${round(duringRun.seconds, 1)} s; niced: the password-hash threads): ${duringRun.threads}`);
    return [
      measured(ctx, 'login_flood_p99_ratio', round(ratio, 2), 'ratio', {
        target: '<= 1.5',
        met: ratio <= 1.5,
        note: `${alone.length} / ${during.length} audited token creations by an admin (${phaseMs / 1000} s each), p99 ${round(p99Alone, 1)} ms alone vs ${round(p99Flood, 1)} ms during ${FLOODERS} concurrent wrong-password logins (${duringRun.value.logins} logins answered meanwhile), one run`,
      }),
    ];
  } finally {
    // A profile is written when the process exits by itself.
    await hub.stop(ctx.profile ? 'SIGTERM' : 'SIGKILL');
  }
}
