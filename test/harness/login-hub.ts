// A standalone hub process (no etcd, no Redis) for the login tests: its own config sections
// (auth:, sso:), restartable on the same ports and data directory, and raw HTTPS requests that
// never throw on a status (the tests look at 401/429/431 answers and their headers).
import path from 'node:path';
import { HubChild, httpsCall, type HubChildOptions } from './hub-child.js';
import type { TestPki } from './pki.js';
import { sfleet } from './sfleet-process.js';

/**
 * `sfleet user add <user> --totp <args...>` into a hub's data directory, as an operator does
 * before the hub starts: the command's output, the otpauth:// URI it printed and its TOTP secret.
 */
export async function addTotpUser(dataDir: string, user: string, password: string, args: string[] = []): Promise<{ output: string; uri: string; secret: string }> {
  const output = await sfleet(['user', 'add', user, '--totp', ...args, '--data-dir', dataDir], { ...process.env, SFLEET_USER_PASSWORD: password });
  const uri = /otpauth:\/\/totp\/\S+/.exec(output)![0];
  return { output, uri, secret: new URL(uri).searchParams.get('secret')! };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export class LoginHub extends HubChild {
  constructor(
    readonly dir: string,
    readonly pki: Pick<TestPki, 'ca' | 'hub'>,
    /** Extra top-level config (auth:, sso:, redis:...). */
    readonly extra: Record<string, unknown> = {},
    env: NodeJS.ProcessEnv = process.env,
    options: HubChildOptions = {},
  ) {
    super(dir, env, options);
  }

  protected async ready(): Promise<boolean> {
    return (await this.request('GET', '/readyz')).status === 200;
  }

  start(): Promise<this> {
    return this.startWith({ region: 'login', hub_id: path.basename(this.dir), tls: this.pki.hub, ...this.extra });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.kill(signal);
  }

  /** One HTTPS request, no client certificate; never throws on an HTTP status. */
  async request(method: string, pathname: string, opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawAnswer> {
    const answer = await httpsCall(`${this.httpUrl}${pathname}`, { method, timeoutMs: 10_000, ...opts, ca: this.pki.ca });
    return { ...answer, json: <T>() => JSON.parse(answer.body) as T };
  }

  login(body: Record<string, unknown>): Promise<RawAnswer> {
    return this.request('POST', '/api/v1/auth/login', { body });
  }
}
