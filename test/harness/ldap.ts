// A private OpenLDAP (slapd) for one test file, started by scripts/ldap/start.sh on a free
// loopback port under /tmp/sfleet-ldap/<name>-<pid>, loaded with the directory below:
//
//   ou=people  alice (uid, sAMAccountName alice, department proj-a) in hpc-admins and hpc-users
//              bob (uid) in hpc-users and, as a uniqueMember, in legacy-ops
//              dave: an Active-Directory-like entry, no uid, sAMAccountName dave, in hpc-users
//              "comma,user": a uid with a comma (its DN needs RFC 4514 escaping)
//   ou=groups  hpc-admins, hpc-users (groupOfNames: memberOf on the users through the memberof
//              overlay), legacy-ops (groupOfUniqueNames: only a group search finds it)
//   ou=services  svc-sfleet, the service account that may search the directory
// Users may read only their own entry; the service account reads everything.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { freePort } from './ports.js';
import { ROOT } from './sfleet-process.js';
import { registerSecret } from '../../scripts/test/run-dir.js';

export const LDAP_SUFFIX = 'dc=sfleet,dc=test';
export const LDAP_PASSWORDS = { alice: 'alice-pw', bob: 'bob-pw', dave: 'dave-pw', comma: 'comma-pw', service: 'svc-pw' } as const;
export const SERVICE_DN = `cn=svc-sfleet,ou=services,${LDAP_SUFFIX}`;

const S = LDAP_SUFFIX;
const LDIF = `dn: ${S}
objectClass: dcObject
objectClass: organization
dc: sfleet
o: sfleet test

dn: ou=people,${S}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${S}
objectClass: organizationalUnit
ou: groups

dn: ou=services,${S}
objectClass: organizationalUnit
ou: services

dn: ${SERVICE_DN}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: svc-sfleet
userPassword: ${LDAP_PASSWORDS.service}

dn: uid=alice,ou=people,${S}
objectClass: inetOrgPerson
objectClass: sfleetAdUser
uid: alice
sAMAccountName: alice
cn: Alice Admin
sn: Admin
mail: alice@sfleet.test
departmentNumber: proj-a
userPassword: ${LDAP_PASSWORDS.alice}

dn: uid=bob,ou=people,${S}
objectClass: inetOrgPerson
uid: bob
cn: Bob User
sn: User
departmentNumber: proj-b
userPassword: ${LDAP_PASSWORDS.bob}

dn: cn=Dave AD,ou=people,${S}
objectClass: inetOrgPerson
objectClass: sfleetAdUser
sAMAccountName: dave
cn: Dave AD
sn: AD
userPassword: ${LDAP_PASSWORDS.dave}

dn: uid=comma\\,user,ou=people,${S}
objectClass: inetOrgPerson
uid: comma,user
cn: Comma User
sn: User
userPassword: ${LDAP_PASSWORDS.comma}

dn: cn=hpc-admins,ou=groups,${S}
objectClass: groupOfNames
cn: hpc-admins
member: uid=alice,ou=people,${S}

dn: cn=hpc-users,ou=groups,${S}
objectClass: groupOfNames
cn: hpc-users
member: uid=alice,ou=people,${S}
member: uid=bob,ou=people,${S}
member: cn=Dave AD,ou=people,${S}

dn: cn=legacy-ops,ou=groups,${S}
objectClass: groupOfUniqueNames
cn: legacy-ops
uniqueMember: uid=bob,ou=people,${S}
`;

export class LdapServer {
  readonly url: string;
  /** ldaps:// when started with a certificate (StartTLS works on `url` then too). */
  readonly tlsUrl?: string;
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly tls?: { cert: string; key: string; port: number },
  ) {
    this.url = `ldap://127.0.0.1:${port}`;
    if (tls) this.tlsUrl = `ldaps://127.0.0.1:${tls.port}`;
  }

  /**
   * Starts slapd (installing it when missing) and loads the directory; the file's own instance.
   * With `tls` (a certificate for 127.0.0.1): StartTLS and ldaps:// too.
   */
  static async create(name: string, tls?: { cert: string; key: string }): Promise<LdapServer> {
    if (process.getuid?.() !== 0) throw new Error('the LDAP tests install and start slapd: run them as root');
    for (const [user, pw] of Object.entries({ ...LDAP_PASSWORDS, admin: 'admin-secret' })) registerSecret(pw, `LDAP password of ${user}`);
    const s = new LdapServer(`/tmp/sfleet-ldap/${name}-${process.pid}`, await freePort(), tls ? { ...tls, port: await freePort() } : undefined);
    await s.start();
    await run('ldapadd', ['-x', '-H', s.url, '-D', `cn=admin,${S}`, '-w', 'admin-secret', '-c'], process.env, 30_000, LDIF).catch((err: Error) => {
      // -c goes on past entries that exist (a restarted directory); anything else is fatal.
      if (!/Already exists/.test(err.message)) throw err;
    });
    return s;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SFLEET_LDAP_DIR: this.dir,
      SFLEET_LDAP_PORT: String(this.port),
      ...(this.tls ? { SFLEET_LDAP_TLS_CERT: this.tls.cert, SFLEET_LDAP_TLS_KEY: this.tls.key, SFLEET_LDAP_TLS_PORT: String(this.tls.port) } : {}),
    };
  }

  /**
   * Bind operations slapd has completed (cn=Monitor), this reading's own bind included: the
   * binds others made between two readings are the difference minus one.
   */
  async binds(): Promise<number> {
    const out = await run('ldapsearch', ['-x', '-LLL', '-H', this.url, '-D', `cn=admin,${S}`, '-w', 'admin-secret', '-b', 'cn=Bind,cn=Operations,cn=Monitor', '-s', 'base', 'monitorOpCompleted'], process.env, 30_000);
    const m = /^monitorOpCompleted: (\d+)$/m.exec(out);
    if (!m) throw new Error(`cn=Monitor has no bind count: ${out.slice(0, 200)}`);
    return Number(m[1]);
  }

  /** Applies an LDIF change set as the directory's admin (ldapmodify): an account removed, a group changed. */
  async modify(ldif: string): Promise<void> {
    await run('ldapmodify', ['-x', '-H', this.url, '-D', `cn=admin,${S}`, '-w', 'admin-secret'], process.env, 30_000, ldif);
  }

  /** Starts slapd when it is not running (idempotent). */
  async start(): Promise<void> {
    await run('bash', [path.join(ROOT, 'scripts/ldap/start.sh')], this.env(), 300_000);
  }

  async stop(purge = true): Promise<void> {
    await run('bash', [path.join(ROOT, 'scripts/ldap/stop.sh'), ...(purge ? ['--purge'] : [])], this.env(), 30_000).catch(() => undefined);
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}
