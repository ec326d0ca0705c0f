// Where the CLI connects and with what credentials: flags win over environment
// (SFLEET_HUB, SFLEET_CA, SFLEET_CERT, SFLEET_KEY, SFLEET_TOKEN), which wins over the
// current context of the contexts file (~/.sfleet/config.yaml or SFLEET_CONFIG).
import { existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../../shared/errors/index.js';
import { TLS13_SUITES } from '../../shared/tls/policy.js';

export interface Connection {
  hub: string;
  ca?: string;
  cert?: string;
  /** A PEM file, or a PKCS#11 URI (pkcs11:token=...;object=...) of a key on a token or smart card. */
  key?: string;
  token?: string;
  /** The tenant to act in (X-Sfleet-Tenant), for a person in several. */
  tenant?: string;
  /** The TLS 1.3 suites offered (the hub's security.encryption.tls.cipher_suites); absent: OpenSSL's. */
  cipher_suites?: string[];
}

export interface ContextEntry extends Partial<Connection> {
  name: string;
}

export interface ContextsFile {
  'current-context'?: string;
  contexts: ContextEntry[];
}

export interface ConnectionFlags {
  hub?: string;
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  context?: string;
  tenant?: string;
}

export function contextsPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.SFLEET_CONFIG ?? join(homedir(), '.sfleet', 'config.yaml');
}

export function readContexts(path = contextsPath()): ContextsFile {
  if (!existsSync(path)) return { contexts: [] };
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const file = (parsed ?? {}) as ContextsFile;
  if (!Array.isArray(file.contexts)) file.contexts = [];
  return file;
}

export function writeContexts(file: ContextsFile, path = contextsPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, stringify(file), { mode: 0o600 });
}

export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const file = readContexts(contextsPath(env));
  const contextName = flags.context ?? env.SFLEET_CONTEXT ?? file['current-context'];
  const context = contextName ? file.contexts.find((c) => c.name === contextName) : undefined;
  if (flags.context && !context) throw new ConfigError(`no context "${flags.context}" in ${contextsPath(env)}`);
  const pick = (flag: string | undefined, envName: string, ctx: string | undefined): string | undefined => flag ?? env[envName] ?? ctx;
  const hub = pick(flags.hub, 'SFLEET_HUB', context?.hub);
  if (!hub) throw new ConfigError('no hub to talk to: pass --hub https://HOST:PORT, set SFLEET_HUB, or pick a context (sfleet context use NAME)');
  const abs = (p: string | undefined): string | undefined => (p ? resolve(p) : undefined);
  return {
    hub: hub.replace(/\/+$/, ''),
    ca: abs(pick(flags.ca, 'SFLEET_CA', context?.ca)),
    cert: abs(pick(flags.cert, 'SFLEET_CERT', context?.cert)),
    // A pkcs11: URI names a key on a token, not a file.
    key: ((k) => (k?.startsWith('pkcs11:') ? k : abs(k)))(pick(flags.key, 'SFLEET_KEY', context?.key)),
    token: pick(flags.token, 'SFLEET_TOKEN', context?.token),
    ...((t) => (t ? { tenant: t } : {}))(pick(flags.tenant, 'SFLEET_TENANT', context?.tenant)),
    ...cipherSuitesOf(env.SFLEET_CIPHER_SUITES, context?.cipher_suites, contextsPath(env)),
  };
}

/** SFLEET_CIPHER_SUITES (comma or colon separated) over the context's cipher_suites; each a TLS 1.3 suite. */
function cipherSuitesOf(fromEnv: string | undefined, fromContext: unknown, file: string): { cipher_suites?: string[] } {
  const where = fromEnv ? 'SFLEET_CIPHER_SUITES' : `${file}: cipher_suites`;
  const list = fromEnv ? fromEnv.split(/[,:]/).map((s) => s.trim()).filter(Boolean) : fromContext;
  if (list === undefined) return {};
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${where}: expected a list of TLS 1.3 suites (${TLS13_SUITES.join(', ')})`);
  for (const suite of list) {
    if (!(TLS13_SUITES as readonly unknown[]).includes(suite)) throw new ConfigError(`${where}: "${String(suite)}" is not a TLS 1.3 suite: one of ${TLS13_SUITES.join(', ')}`);
  }
  return { cipher_suites: list as string[] };
}
