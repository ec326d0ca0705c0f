// Logging in against LDAP / Active Directory with ldapts. Two ways to find the user:
//   search, then bind: the service account (bind_dn) searches user_base_dn for
//     (&<user_filter>(<user_attr>=<escaped name>)), then the user binds with that entry's DN;
//   direct bind: the user binds as user_dn_template with the name DN-escaped.
// Groups come from the user's memberOf values or from a search of groups naming the user;
// the group search runs with the service bind when there is one (users often cannot read
// groups), else with the user's own. Every connection is new and closed after the login.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, InsufficientAccessError, InvalidCredentialsError, InvalidDNSyntaxError, NoSuchObjectError, type Entry } from 'ldapts';
import type { Logger } from '../../../shared/logging/index.js';
import type { LdapConfig } from '../config.js';
import { DirectoryUnavailableError, LoginFailedError } from '../errors.js';
import { escapeDnValue, escapeFilterValue, isAcceptableLoginName } from './escape.js';
import { tlsVersionOptions, type TlsPolicy } from '../../../shared/tls/policy.js';

export interface DirectoryUser {
  /** The login name as the directory spells it (the user_attr value). */
  name: string;
  dn: string;
  groups: string[];
  attributes: Record<string, string>;
}

function first(entry: Entry, attr: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (!key) return undefined;
  const v = entry[key];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : s.toString();
}

function all(entry: Entry, attr: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (!key) return [];
  const v = entry[key];
  return (Array.isArray(v) ? v : [v]).map((x) => x.toString());
}

/** "cn=hpc-admins,ou=groups,dc=x" -> "hpc-admins" when the first RDN is name_attr, else the DN. */
export function groupNameFromDn(groupDn: string, nameAttr: string): string {
  const m = /^([^=]+)=((?:\\.|[^,\\])*)/.exec(groupDn);
  if (!m || m[1].trim().toLowerCase() !== nameAttr.toLowerCase()) return groupDn;
  return m[2].replace(/\\([0-9a-fA-F]{2}|.)/g, (_, e: string) => (e.length === 2 ? String.fromCharCode(parseInt(e, 16)) : e));
}

export class LdapDirectory {
  private readonly tls?: ConnectionOptions;
  constructor(
    private readonly config: LdapConfig,
    private readonly logger: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** security.encryption.tls when configured: TLS 1.3 and its suites; absent: TLS 1.2 floor (many directories). */
    tlsPolicy?: TlsPolicy,
  ) {
    if (config.url.startsWith('ldaps://') || config.start_tls) {
      const host = new URL(config.url).hostname;
      const version = tlsPolicy ? tlsVersionOptions(tlsPolicy) : { minVersion: 'TLSv1.2' as const };
      this.tls = { servername: host, ...version, ...(config.ca_file ? { ca: readFileSync(config.ca_file) } : {}) };
    }
  }

  /** The service account's password, read at each use so a rotated file takes effect. */
  private servicePassword(): string {
    if (this.config.bind_password_file) return readFileSync(this.config.bind_password_file, 'utf8').trim();
    const v = this.config.bind_password_env ? this.env[this.config.bind_password_env] : undefined;
    if (!v) throw new DirectoryUnavailableError(`LDAP service password: environment variable ${this.config.bind_password_env} is not set`);
    return v;
  }

  private async connect(): Promise<Client> {
    const client = new Client({ url: this.config.url, timeout: this.config.timeout, connectTimeout: this.config.connect_timeout, ...(this.tls && this.config.url.startsWith('ldaps://') ? { tlsOptions: this.tls } : {}) });
    if (this.config.start_tls) await client.startTLS(this.tls);
    return client;
  }

  /** The user's entry, groups and attributes when name and password are right; else LoginFailedError. */
  async authenticate(name: string, password: string): Promise<DirectoryUser> {
    // An empty password is an "unauthenticated bind" that many servers accept: never a login.
    if (!isAcceptableLoginName(name) || password.length === 0) throw new LoginFailedError();
    const attrs = [this.config.user_attr, this.config.groups.member_of_attr, ...Object.values(this.config.attributes)];
    let service: Client | undefined;
    let user: Client | undefined;
    try {
      let entry: Entry | undefined;
      let userDn: string;
      if (this.config.bind_dn && this.config.user_base_dn) {
        service = await this.connect();
        await service.bind(this.config.bind_dn, this.servicePassword()).catch((err: Error) => {
          // The service account's own credentials are the operator's problem, not the user's.
          if (err instanceof InvalidCredentialsError) throw new DirectoryUnavailableError('LDAP service bind refused: check bind_dn and its password');
          throw err;
        });
        entry = await this.findUser(service, name);
        if (!entry) throw new LoginFailedError();
        userDn = entry.dn;
      } else {
        userDn = this.config.user_dn_template!.replace('{username}', escapeDnValue(name));
      }
      user = await this.connect();
      await user.bind(userDn, password).catch((err: Error) => {
        if (err instanceof InvalidCredentialsError || err instanceof InvalidDNSyntaxError) throw new LoginFailedError();
        throw err;
      });
      if (!entry) {
        // Direct bind: the user reads their own entry.
        const { searchEntries } = await user.search(userDn, { scope: 'base', filter: '(objectClass=*)', attributes: attrs });
        entry = searchEntries[0] ?? { dn: userDn };
      }
      return await this.userOf(entry, name, service ?? user);
    } catch (err) {
      if (err instanceof LoginFailedError || err instanceof DirectoryUnavailableError) throw err;
      const e = err as Error & { code?: unknown };
      this.logger.warn({ err: e.message, code: e.code, url: this.config.url }, 'LDAP login: directory error');
      throw new DirectoryUnavailableError(`the LDAP directory ${this.config.url} cannot be used now: ${e.message.slice(0, 200)}`);
    } finally {
      await Promise.all([service, user].map((c) => c?.unbind().catch(() => undefined)));
    }
  }

  /** Whether sessions can be re-checked: looking a user up without their password needs the service account. */
  get canLookUp(): boolean {
    return !!(this.config.bind_dn && this.config.user_base_dn);
  }

  /**
   * The user as the directory has it now (groups, attributes), found by the service account
   * without the user's password; undefined when no entry matches (removed, or filtered out by
   * user_filter: a disabled account). Throws DirectoryUnavailableError when it cannot tell.
   */
  async lookup(name: string): Promise<DirectoryUser | undefined> {
    if (!this.canLookUp) throw new DirectoryUnavailableError('LDAP sessions cannot be re-checked without a service account (sso.ldap.bind_dn)');
    if (!isAcceptableLoginName(name)) return undefined;
    return this.asService(async (service) => {
      const entry = await this.findUser(service, name);
      return entry ? await this.userOf(entry, name, service) : undefined;
    });
  }

  /** `fn` on a connection bound as the service account; any failure is DirectoryUnavailableError. */
  private async asService<T>(fn: (service: Client) => Promise<T>): Promise<T> {
    let service: Client | undefined;
    try {
      service = await this.connect();
      await service.bind(this.config.bind_dn!, this.servicePassword());
      return await fn(service);
    } catch (err) {
      if (err instanceof DirectoryUnavailableError) throw err;
      throw new DirectoryUnavailableError(`the LDAP directory ${this.config.url} cannot be used now: ${(err as Error).message.slice(0, 200)}`);
    } finally {
      await service?.unbind().catch(() => undefined);
    }
  }

  /**
   * Some attributes of a user's entry (alerting's on-call contacts: mail, mobile), read by the
   * service account: the first value of each present, keyed as asked; undefined when no entry
   * matches. Throws DirectoryUnavailableError when it cannot tell.
   */
  async attributesOf(name: string, attributes: readonly string[]): Promise<Record<string, string> | undefined> {
    if (!this.canLookUp) throw new DirectoryUnavailableError('reading contacts from LDAP needs a service account (sso.ldap.bind_dn and user_base_dn)');
    if (!isAcceptableLoginName(name)) return undefined;
    return this.asService(async (service) => {
      const entry = await this.findUser(service, name, attributes);
      if (!entry) return undefined;
      const out: Record<string, string> = {};
      for (const a of attributes) {
        const v = first(entry, a);
        if (v !== undefined && v.trim() !== '') out[a] = v.trim();
      }
      return out;
    });
  }

  /** The one entry of user_base_dn matching user_filter and the name; undefined for none or several. */
  private async findUser(service: Client, name: string, extra: readonly string[] = []): Promise<Entry | undefined> {
    const attrs = [this.config.user_attr, this.config.groups.member_of_attr, ...Object.values(this.config.attributes), ...extra];
    const filter = `(&${this.config.user_filter}(${this.config.user_attr}=${escapeFilterValue(name)}))`;
    const { searchEntries } = await service.search(this.config.user_base_dn!, { scope: 'sub', filter, attributes: attrs, sizeLimit: 2 });
    if (searchEntries.length !== 1) {
      this.logger.info({ user_matches: searchEntries.length }, 'LDAP: the user search did not find exactly one entry');
      return undefined;
    }
    return searchEntries[0];
  }

  private async userOf(entry: Entry, name: string, client: Client): Promise<DirectoryUser> {
    const groups = await this.groups(entry, name, client);
    const attributes: Record<string, string> = {};
    for (const [key, attr] of Object.entries(this.config.attributes)) {
      const v = first(entry, attr);
      if (v !== undefined) attributes[key] = v;
    }
    return { name: first(entry, this.config.user_attr) ?? name, dn: entry.dn, groups, attributes };
  }

  private async groups(entry: Entry, name: string, client: Client): Promise<string[]> {
    const g = this.config.groups;
    if (g.lookup === 'none') return [];
    if (g.lookup === 'member_of') return [...new Set(all(entry, g.member_of_attr).map((dn) => groupNameFromDn(dn, g.name_attr)))].sort();
    const clauses = g.member_attrs.map((a) => `(${a}=${escapeFilterValue(a.toLowerCase() === 'memberuid' ? name : entry.dn)})`).join('');
    const filter = `(&${g.filter}(|${clauses}))`;
    const searching = client.search(g.base_dn!, { scope: 'sub', filter, attributes: [g.name_attr] });
    const { searchEntries } = await searching.catch((err: Error) => {
      // A user's own bind often may not see the groups: no groups, and a hint for the operator.
      if (!(err instanceof NoSuchObjectError || err instanceof InsufficientAccessError)) throw err;
      this.logger.warn({ base_dn: g.base_dn }, 'LDAP group search: the groups base cannot be read with this bind; set bind_dn so the service account looks groups up');
      return { searchEntries: [] as Entry[] };
    });
    return [...new Set(searchEntries.map((e) => first(e, g.name_attr) ?? e.dn))].sort();
  }
}
