// The dashboard (issue 18) with 100,000 jobs in the fleet: two clusters of 50,000 fed by scripted
// agents in this process into a real hub process, Debian's Chromium driving the built dashboard
// (hub, agents and browser on this machine). Measured:
// - cold loads of the jobs page (5; each a new page with the HTTP cache off): navigation start
//   until the first rows are shown and the filter box has taken a key; median and p95;
// - a filter's answer in the page (request after the typing pause until the rows are shown);
// - the jobs query with sort and count (limit 200, as the page asks), random sort field, order
//   and filter, from the page's own fetch, while 1,000 job updates/s arrive: p50/p99;
// - long tasks (> 50 ms, PerformanceObserver) in the jobs and overview pages while the watch
//   stream carries those 1,000 updates/s (counted in the page, so the rate is what it got: the
//   agents change 5% more, and the count runs over whole rounds of changes, see pageWindow);
// - the initial JavaScript, gzipped.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import type { RunningAgent } from '../../../agent/main.js';
import { HeadlessChromium } from '../../../test/harness/chromium.js';
import { LoginHub } from '../../../test/harness/login-hub.js';
import { makePki } from '../../../test/harness/pki.js';
import { freePort } from '../../../test/harness/ports.js';
import { testLogger } from '../../../test/harness/run-logs.js';
import { makeJob, ScriptedSource } from '../../../test/harness/scripted-source.js';
import { ROOT, sfleet } from '../../../test/harness/sfleet-process.js';
import { startTestAgent } from '../../../test/harness/test-agent.js';
import { sleep, waitFor } from '../../../test/harness/wait.js';
import { measured, percentile, round, type BenchContext, type Measured } from '../lib/context.js';

// The browser globals the page functions below use (this build has no DOM library; module scope only).
type SourceClass = new (url: string | URL, init?: { withCredentials?: boolean }) => { addEventListener(type: string, listener: () => void): void };
declare const window: { __watchEvents: number; __longTasks: number[]; __observer?: { disconnect(): void }; EventSource: SourceClass };
declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };
declare const location: { search: string };
declare const PerformanceObserver: new (callback: (list: { getEntries(): { duration: number }[] }) => void) => { observe(o: { type: string }): void; disconnect(): void };

const PASSWORD = 'dashboard bench 2026';
const PER_CLUSTER = 50_000;
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const ACCOUNTS = ['research', 'physics', 'chem', 'ops'];
const STATES = ['PENDING', 'RUNNING', 'RUNNING', 'COMPLETED', 'FAILED'];
const SORTS = ['submit_time', 'start_time', 'end_time', 'user', 'account', 'partition', 'state', 'id'];
/** Job updates per second the page must receive while queries and long tasks are measured (the issue's figure). */
const UPDATES_PER_S = 1000;
/**
 * What the agents change: 5% more, so that the rate the page receives proves the condition
 * (driven at exactly 1,000/s, a page that got all of it read 999/s or 1,001/s by chance).
 */
const DRIVEN_PER_S = Math.round(UPDATES_PER_S * 1.05);
// Each round changes the jobs due since the last one, then has each agent poll once: a scripted
// poll copies and diffs all 50,000 jobs of its cluster, so polls on a timer of their own would
// starve this process. Rounds start at most every ROUND_MS.
const ROUND_MS = 500;
/** The first rows a page shows, sorted by start time: a third of the changes land among them. */
const HOT = 400;

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const at = (s: number): string => new Date(Date.UTC(2026, 11, 1) + s * 1000).toISOString();

interface Churn {
  /** Ends the rounds; resolves once the last poll is done. */
  stop(): Promise<void>;
  /** Polls so far, the changes they spooled and their total time: why a rate fell short. */
  stats: { polls: number; changes: number; pollMs: number };
  /** Resolves when the round under way has been polled (its changes are on their way to the hub). */
  afterRound(): Promise<void>;
}

/**
 * Changes DRIVEN_PER_S jobs a second (state and start time), a third of them among the first
 * rows a page shows. The count of a round is what fell due since the last one, so a slow poll
 * makes the next round bigger, not the rate lower; the jobs of one round are distinct (a job
 * changed twice before a poll would be one update, or none when it flipped back).
 */
function churn(sources: ScriptedSource[], agents: RunningAgent[]): Churn {
  let n = 0;
  let stopped = false;
  let owed = 0;
  const stats = { polls: 0, changes: 0, pollMs: 0 };
  let waiting: (() => void)[] = [];
  let last = performance.now();
  const round = async (): Promise<void> => {
    while (!stopped) {
      const started = performance.now();
      owed += ((started - last) * DRIVEN_PER_S) / 1000;
      last = started;
      const due = Math.floor(owed);
      owed -= due;
      const perSource = Math.floor(due / sources.length);
      owed += due - perSource * sources.length;
      for (const source of sources) {
        const jobs = source.model.job;
        const hot = Math.min(Math.floor(perSource / 3), HOT);
        for (let i = 0; i < perSource; i++) {
          // Hot: distinct rows among the first HOT; the rest: distinct rows past them (104,729 is a
          // prime, so the stride visits every row of jobs.length - HOT before it repeats).
          const idx = i < hot ? (n * 7 + i) % HOT : HOT + ((n * 7919 + i * 104_729) % (jobs.length - HOT));
          const job = jobs[idx];
          const running = job.state !== 'RUNNING';
          jobs[idx] = { ...job, state: running ? 'RUNNING' : 'PENDING', ...(running ? { start_time: at(100_000 + n) } : { start_time: undefined }) };
        }
      }
      n++;
      const changes = await Promise.all(agents.map((a) => a.pipeline.pollOnce()));
      stats.polls++;
      stats.changes += changes.reduce((x, y) => x + y, 0);
      stats.pollMs += performance.now() - started;
      for (const done of waiting) done();
      waiting = [];
      await sleep(Math.max(0, ROUND_MS - (performance.now() - started)));
    }
  };
  const running = round();
  return {
    stop: () => {
      stopped = true;
      return running;
    },
    stats,
    afterRound: () => new Promise((resolve) => waiting.push(resolve)),
  };
}

/**
 * Long tasks and watch events in a page over at least `ms`, from the end of one round of changes
 * to the end of a later one. The changes come in rounds (ROUND_MS), so the page gets them in
 * bursts: a window of a few seconds set anywhere holds one burst more or less by chance (1,000/s
 * read as 900 to 1,100). Between two round ends it holds whole rounds, and the count over the
 * span is the rate the page got. (Each end is read a moment after its round's changes left the
 * agents; the delay to the page is much the same at both ends.) The counter of watch events is
 * installed by an init script.
 */
async function pageWindow(page: Page, load: Churn, ms: number): Promise<{ tasks: number[]; events: number; elapsedMs: number; rounds: number }> {
  await load.afterRound();
  const start = await page.evaluate(() => {
    const w = window;
    w.__longTasks = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push(Math.round(e.duration));
    });
    observer.observe({ type: 'longtask' });
    w.__observer = observer;
    return { events: w.__watchEvents, at: performance.now() };
  });
  const began = performance.now();
  let rounds = 0;
  while (performance.now() - began < ms) {
    await load.afterRound();
    rounds++;
  }
  const end = await page.evaluate(() => {
    const w = window;
    w.__observer?.disconnect();
    return { events: w.__watchEvents, at: performance.now(), tasks: w.__longTasks };
  });
  // The span as the page lived it: a loaded machine stretches its timer.
  return { tasks: end.tasks, events: end.events - start.events, elapsedMs: end.at - start.at, rounds };
}

export async function dashboardBench(ctx: BenchContext): Promise<Measured[]> {
  const pki = await makePki('dashboard.sfleet', { parent: ctx.workDir, registerSecrets: false });
  const hub = new LoginHub(mkdtempSync(join(ctx.workDir, 'dashboard-hub-')), pki, {}, process.env);
  hub.httpPort = await freePort();
  hub.grpcPort = await freePort();
  const origin = `https://localhost:${hub.httpPort}`;
  const agents: RunningAgent[] = [];
  const sources: ScriptedSource[] = [];
  let browser: HeadlessChromium | undefined;
  let load: Churn | undefined;
  const out: Measured[] = [];
  try {
    await sfleet(['user', 'add', 'olivia', '--data-dir', hub.dataDir], { ...process.env, SFLEET_USER_PASSWORD: PASSWORD });
    await hub.start();
    const t0 = Date.now();
    for (const cluster of ['east', 'west']) {
      const source = new ScriptedSource(cluster);
      source.model.job = Array.from({ length: PER_CLUSTER }, (_, i) =>
        makeJob(cluster, i + 1, {
          user: USERS[i % USERS.length], account: ACCOUNTS[(i >> 3) % ACCOUNTS.length], partition: i % 10 === 0 ? 'gpu' : 'batch', state: STATES[i % STATES.length],
          submit_time: at(i * 7), ...(i % 5 === 1 || i % 5 === 2 ? { start_time: at(i * 7 + 60) } : {}), ...(i % 5 >= 3 ? { start_time: at(i * 7 + 60), end_time: at(i * 7 + 600) } : {}),
        }),
      );
      sources.push(source);
      agents.push(await startTestAgent({ cluster, endpoints: [hub.grpcAddress], tls: await pki.agent(cluster), pollInterval: '3600s' }, { logger: testLogger(`bench-dashboard-${cluster}`), source }));
    }
    browser = await HeadlessChromium.launch([pki.hub.cert]);
    // Counts the watch events the dashboard's own EventSource receives.
    await browser.context.addInitScript(() => {
      const w = window;
      w.__watchEvents = 0;
      const Original = w.EventSource;
      w.EventSource = class extends Original {
        constructor(url: string | URL, init?: { withCredentials?: boolean }) {
          super(url, init);
          this.addEventListener('upsert', () => void w.__watchEvents++);
        }
      };
    });
    const page = await browser.newPage();
    await page.goto(`${origin}/login`);
    await page.fill('#username', 'olivia');
    await page.fill('#password', PASSWORD);
    await page.click('#submit');
    await page.waitForSelector('#logged-in:not([hidden])');
    const total = (): Promise<number> => page.evaluate(async () => ((await (await fetch('/api/v1/jobs?count=true&limit=1')).json()) as { total: number }).total);
    await waitFor('100,000 jobs at the hub', async () => (await total()) === 2 * PER_CLUSTER, 300_000, 1000);
    ctx.log(`dashboard: hub holds 100,000 jobs after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const dir = join(ROOT, 'web', 'dashboard', 'assets');
    const bytes = readdirSync(dir).filter((f) => f.endsWith('.js')).reduce((n, f) => n + gzipSync(readFileSync(join(dir, f))).length, 0);
    out.push(measured(ctx, 'dashboard_initial_js_kb', round(bytes / 1024, 1), 'KiB', { target: '< 300', met: bytes < 300 * 1024, note: 'every script in web/dashboard/assets, gzipped' }));

    // Cold loads, each a new page without HTTP cache.
    const loads: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await browser.newPage();
      const cdp = await p.context().newCDPSession(p);
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await p.goto(`${origin}/jobs`, { waitUntil: 'commit' });
      await p.waitForSelector('[data-job]');
      await p.focus('#job-filter');
      await p.keyboard.type('x');
      loads.push(await p.evaluate(() => performance.now()));
      if ((await p.inputValue('#job-filter')) !== 'x') throw new Error('the filter box did not take the key');
      if ((await p.textContent('[data-testid=job-count]')) !== '100,000+ jobs') throw new Error(`jobs page shows ${await p.textContent('[data-testid=job-count]')}`);
      await p.close();
    }
    const ls = sorted(loads);
    out.push(measured(ctx, 'dashboard_first_rows_ms', round(percentile(ls, 50), 0), 'ms', { target: '<= 1500', met: percentile(ls, 50) <= 1500, note: `median of 5 cold loads at 100k jobs; p95 ${Math.round(percentile(ls, 95))} ms; runs ${loads.map(Math.round).join(', ')}` }));

    // A filter's answer.
    await page.goto(`${origin}/jobs`);
    await page.waitForSelector('[data-job]');
    const filters: number[] = [];
    for (const user of ['bob', 'carol', 'dave', 'erin', 'frank']) {
      await page.fill('#job-filter', '');
      await page.waitForFunction(() => !location.search.includes('user='));
      await page.waitForSelector('[data-testid=job-count]:has-text("100,000+ jobs")');
      await page.fill('#job-filter', `user:${user}`);
      await page.waitForURL(new RegExp(`user=${user}`));
      const s = await page.evaluate(() => performance.now());
      await page.waitForFunction(
        (u) => document.querySelector('[data-testid=job-count]')?.textContent === '12,500 jobs' && Array.from(document.querySelectorAll('[data-job] [role=cell]:nth-child(3)')).every((e) => e.textContent === u),
        user,
      );
      filters.push((await page.evaluate(() => performance.now())) - s);
    }
    const fs = sorted(filters);
    out.push(measured(ctx, 'dashboard_filter_ms', round(percentile(fs, 50), 0), 'ms', { target: '<= 300', met: percentile(fs, 50) <= 300, note: `median of 5 filters (12,500 matches of 100k), request to rows shown; p95 ${Math.round(percentile(fs, 95))} ms` }));

    // Under 1,000 updates/s: the jobs query, then long tasks in the pages.
    load = churn(sources, agents);
    await sleep(2000);
    const queries = ctx.quick ? 200 : 1000;
    const latencies = await page.evaluate(
      async ({ queries, sorts, users, accounts }) => {
        let seed = 42;
        const rnd = (n: number): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n);
        const times: number[] = [];
        for (let i = 0; i < queries; i++) {
          const q = new URLSearchParams({ sort: sorts[rnd(sorts.length)], order: rnd(2) ? 'asc' : 'desc', count: 'true', limit: '200' });
          const r = rnd(4);
          if (r === 1) q.set('user', users[rnd(users.length)]);
          if (r === 2) q.set('state', 'running');
          if (r === 3) q.set('account', accounts[rnd(accounts.length)]);
          const s = performance.now();
          const res = await fetch(`/api/v1/jobs?${q}`);
          await res.json();
          if (!res.ok) throw new Error(`jobs query ${q}: ${res.status}`);
          times.push(performance.now() - s);
        }
        return times;
      },
      { queries, sorts: SORTS, users: USERS, accounts: ACCOUNTS },
    );
    const qs = sorted(latencies);
    out.push(measured(ctx, 'dashboard_query_p50_ms', round(percentile(qs, 50), 1), 'ms', { note: `${queries} jobs queries with sort, order, count, limit 200, random filter, at 100k jobs` }));
    out.push(measured(ctx, 'dashboard_query_p99_ms', round(percentile(qs, 99), 1), 'ms', { target: '<= 50', met: percentile(qs, 99) <= 50, note: `from the page's fetch, under ${DRIVEN_PER_S} job updates/s` }));

    const spanMs = ctx.quick ? 5000 : 15_000;
    // The page of the queries (a filtered jobs list, under the updates) is closed: each measured
    // page is a fresh tab, as a user opening it, not a navigation the busy page has to start.
    await page.close();
    for (const [name, path, ready] of [['jobs', '/jobs?sort=start_time&order=desc', '[data-job]'], ['overview', '/', '[data-cluster]']] as const) {
      const tab = await browser.newPage();
      // Under the update load the load event can take long; the rows shown are what counts.
      await tab.goto(`${origin}${path}`, { waitUntil: 'commit', timeout: 120_000 });
      await tab.waitForSelector(ready, { timeout: 120_000 }).catch(async (err: Error) => {
        // Kept with --keep: what the page showed when it did not get there.
        await tab.screenshot({ path: join(ctx.workDir, `dashboard-${name}-timeout.png`) }).catch(() => undefined);
        throw err;
      });
      await sleep(1000);
      const before = { ...load.stats };
      const wall = performance.now();
      const lt = await pageWindow(tab, load, spanMs);
      const rate = Math.round(lt.events / (lt.elapsedMs / 1000));
      const longest = Math.max(0, ...lt.tasks);
      const polls = load.stats.polls - before.polls;
      const spooled = Math.round((load.stats.changes - before.changes) / ((performance.now() - wall) / 1000));
      const pollMs = polls ? Math.round((load.stats.pollMs - before.pollMs) / polls) : 0;
      out.push(
        measured(ctx, `dashboard_${name}_watch_events_per_s`, rate, 'events/s', {
          target: `>= ${UPDATES_PER_S}`, met: rate >= UPDATES_PER_S,
          note: `${lt.events} upserts the page's EventSource received over ${(lt.elapsedMs / 1000).toFixed(1)} s (${lt.rounds} whole rounds; ${DRIVEN_PER_S}/s changed)`,
        }),
      );
      out.push(
        measured(ctx, `dashboard_${name}_long_tasks`, lt.tasks.length, 'count', {
          target: '0 over 50 ms', met: lt.tasks.length === 0 && rate >= UPDATES_PER_S,
          note: `${(lt.elapsedMs / 1000).toFixed(1)} s at ${rate} watch events/s received (${DRIVEN_PER_S}/s changed, ${spooled}/s spooled by the agents in ${polls} polls of ${pollMs} ms); longest ${longest} ms${lt.tasks.length ? ` (all: ${lt.tasks.join(', ')} ms)` : ''}`,
        }),
      );
      await tab.close();
    }
    await load.stop();
    load = undefined;

    return out;
  } catch (err) {
    throw Object.assign(err as Error, { partial: out });
  } finally {
    await load?.stop();
    await browser?.close();
    for (const a of agents) await a.close();
    await hub.stop();
  }
}
