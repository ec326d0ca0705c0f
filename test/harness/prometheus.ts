// Real Prometheus, Pushgateway and promtool (Debian packages, installed by
// scripts/prometheus/install.sh) on free loopback ports, for the observability tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { execText } from './exec.js';
import { freePort } from './ports.js';
import { ROOT } from './sfleet-process.js';
import { waitFor } from './wait.js';

export interface PrometheusBins {
  promtool: string;
  prometheus: string;
  pushgateway: string;
}

/** Installs the packages when missing (root) and answers where the binaries are. */
export async function prometheusBins(): Promise<PrometheusBins> {
  const out = await execText('bash', [join(ROOT, 'scripts/prometheus/install.sh')], { env: process.env, timeoutMs: 900_000, what: 'scripts/prometheus/install.sh' });
  const env = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  return { promtool: env.SFLEET_PROMTOOL!, prometheus: env.SFLEET_PROMETHEUS!, pushgateway: env.SFLEET_PUSHGATEWAY! };
}

/** `promtool check metrics` on an exposition: its complaints ('' when clean). */
export function promtoolCheck(promtool: string, exposition: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(exposition);
  });
}

class Daemon {
  constructor(
    protected readonly child: ChildProcess,
    readonly url: string,
  ) {}

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

async function start(bin: string, args: (port: number) => string[], ready: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(bin, args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${bin} on ${url}`, async () => {
    if (child.exitCode !== null) throw new Error(`${bin} exited ${child.exitCode}: ${log}`);
    return (await fetch(`${url}${ready}`).catch(() => undefined))?.ok === true;
  }, 30_000, 100);
  return { child, url };
}

export class Pushgateway extends Daemon {
  static async start(bins: PrometheusBins): Promise<Pushgateway> {
    const { child, url } = await start(bins.pushgateway, (port) => [`--web.listen-address=127.0.0.1:${port}`], '/-/ready');
    return new Pushgateway(child, url);
  }

  /** The exposition of every group, as Prometheus would scrape it. */
  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }
}

export class Prometheus extends Daemon {
  /**
   * scrapeConfigs: Prometheus `scrape_configs` entries. Scrapes every second. extra: rule groups
   * (evaluated every second) and the `alerting:` section (where alerts are sent).
   */
  static async start(bins: PrometheusBins, scrapeConfigs: object[], extra: { ruleGroups?: object[]; alerting?: object } = {}): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
    if (extra.ruleGroups) writeFileSync(join(dir, 'rules.yml'), stringify({ groups: extra.ruleGroups }));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        scrape_configs: scrapeConfigs,
        ...(extra.ruleGroups ? { rule_files: [join(dir, 'rules.yml')] } : {}),
        ...(extra.alerting ? { alerting: extra.alerting } : {}),
      }),
    );
    const { child, url } = await start(
      bins.prometheus,
      (port) => [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      '/-/ready',
    );
    return new Prometheus(child, url);
  }

  /** An instant query's series: labels and value. */
  async query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
    return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Scrape targets with their health and last error. */
  async targets(): Promise<{ job: string; instance: string; health: string; lastError: string }[]> {
    const body = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] } };
    return body.data.activeTargets.map((t) => ({ job: t.labels.job!, instance: t.labels.instance!, health: t.health, lastError: t.lastError }));
  }
}
