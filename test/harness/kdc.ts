// A private MIT Kerberos KDC (Debian krb5-kdc) for one test file, started by
// scripts/kerberos/start.sh on a free port: users with passwords, service keytabs, and kinit
// into a credential cache of the test's own.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { execText } from './exec.js';
import { ROOT } from './sfleet-process.js';
import { freePort } from './ports.js';

export const KDC_REALM = 'SFLEET.TEST';

export class Kdc {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(name: string): Promise<Kdc> {
    const dir = `/tmp/sfleet-kdc/${name}-${process.pid}`;
    mkdirSync(dir, { recursive: true });
    const kdc = new Kdc(dir, await freePort());
    await run('bash', [path.join(ROOT, 'scripts/kerberos/start.sh')], kdc.scriptEnv(), 300_000);
    return kdc;
  }

  private scriptEnv(): NodeJS.ProcessEnv {
    return { ...process.env, SFLEET_KDC_DIR: this.dir, SFLEET_KDC_PORT: String(this.port) };
  }

  /** KRB5_CONFIG for clients (kinit, curl, sfleet) and KRB5_KDC_PROFILE for kadmin.local. */
  get env(): NodeJS.ProcessEnv {
    return { KRB5_CONFIG: path.join(this.dir, 'krb5.conf'), KRB5_KDC_PROFILE: path.join(this.dir, 'kdc.conf') };
  }

  async kadmin(query: string): Promise<string> {
    return run('kadmin.local', ['-q', query], { ...process.env, ...this.env }, 30_000);
  }

  async addUser(name: string, password: string): Promise<void> {
    await this.kadmin(`addprinc -pw ${password} ${name}`);
  }

  /** A service principal with a random key, written to a keytab (as `ktadd` does for a real host). */
  async addService(principal: string, keytab: string): Promise<string> {
    await this.kadmin(`addprinc -randkey ${principal}`);
    await this.kadmin(`ktadd -k ${keytab} ${principal}`);
    return keytab;
  }

  /** kinit as `user` into a cache of its own; returns KRB5CCNAME. */
  async kinit(user: string, password: string): Promise<string> {
    const cache = `FILE:${path.join(this.dir, `cc-${user}`)}`;
    await run('kinit', [user], { ...process.env, ...this.env, KRB5CCNAME: cache }, 30_000, `${password}\n`);
    return cache;
  }

  async stop(): Promise<void> {
    await run('bash', [path.join(ROOT, 'scripts/kerberos/stop.sh'), '--purge'], this.scriptEnv(), 30_000).catch(() => undefined);
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, stdin?: string): Promise<string> {
  return execText(cmd, args, { env, timeoutMs, ...(stdin !== undefined ? { stdin } : {}) });
}
