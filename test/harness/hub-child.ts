// What every hub-as-a-child-process harness shares (login-hub, standalone-hub, hub-group): free
// ports kept across restarts, the config file written from an object, start and wait until
// /readyz answers 200, kill, the log, the audit records, and one HTTPS request that never throws on a status.
// The hub's audit directory is registered for the secrets scan after the run (tests; chaos and
// the benchmarks turn that off with runDir: false).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { stringify } from 'yaml';
import type { AuditRecord } from '../../hub/audit/index.js';
import { registerAuditDir } from '../../scripts/test/run-dir.js';
import { freePort } from './ports.js';
import { SfleetProcess, type SfleetProcessOptions } from './sfleet-process.js';
import { waitFor } from './wait.js';

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpsCall {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** CA bundle file, and client certificate and key files when the call presents one. */
  ca: string;
  cert?: string;
  key?: string;
  timeoutMs: number;
  /** The local address the call comes from (127.0.0.x: another source, e.g. a trusted proxy). */
  localAddress?: string;
}

/** One HTTPS request with the fleet CA (TLS 1.3); never throws on an HTTP status. */
export function httpsCall(url: string, call: HttpsCall): Promise<HttpsAnswer> {
  const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
  const headers: Record<string, string> = { ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}), ...call.headers };
  return new Promise((resolve, reject) => {
    const tls = { ca: readFileSync(call.ca), ...(call.cert && call.key ? { cert: readFileSync(call.cert), key: readFileSync(call.key) } : {}) };
    const req = request(url, { method: call.method ?? 'GET', headers, ...tls, minVersion: 'TLSv1.3', timeout: call.timeoutMs, ...(call.localAddress ? { localAddress: call.localAddress } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface HubChildOptions extends SfleetProcessOptions {
  /** How long start() waits for ready() (default 30 s). */
  readyTimeoutMs?: number;
  /** The address the hub listens on and is called at (default 127.0.0.1; its namespace's in chaos's netns mode). */
  host?: string;
}

export abstract class HubChild {
  readonly configFile: string;
  readonly logFile: string;
  readonly dataDir: string;
  /** The hub's audit directory (config audit.dir, default data/audit); known once started. */
  auditDir?: string;
  proc?: SfleetProcess;
  httpPort = 0;
  grpcPort = 0;
  /** The built checkout the next start() runs (SfleetProcessOptions.release): changed between restarts by the upgrade test. */
  release?: string;

  constructor(
    /** The hub's own directory: hub.yaml, hub.log, data/. */
    readonly home: string,
    readonly env: NodeJS.ProcessEnv = process.env,
    readonly childOptions: HubChildOptions = {},
  ) {
    this.release = childOptions.release;
    this.configFile = path.join(home, 'hub.yaml');
    this.logFile = path.join(home, 'hub.log');
    this.dataDir = path.join(home, 'data');
  }

  /** The readiness check start() waits for. */
  protected abstract ready(): Promise<boolean>;

  get httpUrl(): string {
    return `https://${this.host}:${this.httpPort}`;
  }
  get grpcAddress(): string {
    return `${this.host}:${this.grpcPort}`;
  }
  get host(): string {
    return this.childOptions.host ?? '127.0.0.1';
  }
  get alive(): boolean {
    return !!this.proc?.alive;
  }
  get pid(): number {
    return this.proc!.child!.pid!;
  }

  /** Picks the ports once: a restarted hub comes back where it was. */
  async ports(): Promise<this> {
    if (!this.httpPort) {
      this.httpPort = await freePort();
      this.grpcPort = await freePort();
    }
    return this;
  }

  /** Writes the config (listen and data_dir filled in) and starts `sfleet hub`; resolves when ready. */
  protected async startWith(config: Record<string, unknown>, what = 'hub ready'): Promise<this> {
    await this.ports();
    mkdirSync(this.home, { recursive: true });
    const full = { listen: { grpc: this.grpcAddress, http: `${this.host}:${this.httpPort}` }, data_dir: this.dataDir, log_level: 'info', ...config };
    writeFileSync(this.configFile, stringify(full));
    const audit = (full as { audit?: { dir?: string } }).audit;
    this.auditDir = audit?.dir ?? path.join(this.dataDir, 'audit');
    const { readyTimeoutMs = 30_000, host: _host, ...processOptions } = this.childOptions;
    if (processOptions.runDir ?? true) registerAuditDir(this.auditDir);
    this.proc = new SfleetProcess(['hub', '--config', this.configFile], this.logFile, this.env, { ...processOptions, release: this.release }).start();
    // A hub that exited will not get ready: say why at once, not after the timeout.
    const proc = this.proc;
    const exited = { aborted: false };
    proc.child!.once('exit', () => (exited.aborted = true));
    await waitFor(what, () => this.ready(), readyTimeoutMs, 100, exited).catch((err: Error) => {
      throw proc.alive ? err : new Error(`${what}: the hub exited before it was ready:\n${logTail(this.logFile)}`);
    });
    return this;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.proc?.kill(signal);
  }

  log(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  /** Every record in the hub's audit files now (written before each answer went out). */
  auditRecords(): AuditRecord[] {
    if (!this.auditDir || !existsSync(this.auditDir)) return [];
    return readdirSync(this.auditDir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()
      .flatMap((f) => readFileSync(path.join(this.auditDir!, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as AuditRecord)
      .filter((r) => r.type === 'record');
  }
}

/** The last lines of a process's log, for an error message. */
function logTail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
