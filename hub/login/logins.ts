// Builds the hub's login side from its config: where sessions live, the login limiter, local
// users, LDAP, TOTP; and the bearer verifier for sessions. The gate stage (hub/start/gate.ts) calls this once.
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logging/index.js';
import { UnauthenticatedError } from '../../shared/errors/index.js';
import type { AuthInput, BearerVerifier, Principal } from '../policy/index.js';
import { LdapDirectory } from './ldap/ldap-directory.js';
import { TotpVerifier, type OnceStore } from './local/totp.js';
import { AtRest } from '../../shared/crypto/index.js';
import type { WriteFaults } from '../../shared/durability/index.js';
import { LocalUserStore, type LocalUserView, type UserDirectory } from './local/user-store.js';
import { defaultHashThreads, passwordHashPool } from './local/hash-pool.js';
import { FileLimiterBackend } from './file-limiter-backend.js';
import { CountingLoginLimiter, type LimiterBackend } from './limiter-backend.js';
import { FallbackLoginLimiter, RedisLoginLimiter, type LoginLimiter } from './login-limiter.js';
import { LoginLimits } from './login-limits.js';
import { LoginService } from './login-service.js';
import { totpProvider, webauthnProvider, type AuthConfig, type LdapConfig } from './config.js';
import { ChallengeStore } from './webauthn/challenge-store.js';
import { WebauthnFactor } from './webauthn/webauthn-factor.js';
import { AnnouncingSessionStore, FileSessionStore, MemorySessionStore, RevalidatingSessionVerifier, SessionVerifier, SharedSessionStore, type CredentialEnds, type SessionStore } from './sessions/index.js';
import { MemorySharedKvStore, type SharedKvStore } from '../replication/index.js';
import { hasTlsPolicy, tlsPolicyFrom, type SecurityConfig } from '../../shared/security/index.js';

export interface LoginsDeps {
  logger: Logger;
  /** Clustered: the region's shared key-value store (hub/replication), for sessions and WebAuthn challenges. */
  sharedKv?: SharedKvStore;
  /** Region-wide "first caller wins" (TOTP replay); standalone: in memory. */
  once: OnceStore;
  /** In a hub group: the shared security store's login counters (hub/security-store). */
  limiterBackend?: LimiterBackend;
  /** Redis and no etcd: a Redis connection for the shared login counters, and their key prefix. */
  redis?: { client: Redis; prefix: string };
  rolesOf?: (principal: Principal) => string[] | Promise<string[]>;
  /** Encryption at rest for users.json and sessions.json (absent: plain files). */
  atRest?: AtRest;
  /** Failed writes of users.json and sessions.json (metrics, /healthz). */
  faults?: WriteFaults;
  /** In a hub group: local users in the shared security store, users.json being this hub's door to them. */
  sharedUsers?: (file: LocalUserStore) => UserDirectory;
  /** Told of each session that ends here (logout, a failed re-check): open watches end at once, on every hub. */
  ends?: Pick<CredentialEnds, 'announce'>;
}

export interface Logins {
  sessions: SessionStore;
  login: LoginService;
  /** Present when auth.mfa.providers lists webauthn. */
  webauthn?: WebauthnFactor;
  /** sso.ldap's directory: Kerberos logins take their accounts and groups from it. */
  ldap?: LdapDirectory;
  verifiers: BearerVerifier[];
  /** Re-checks of sessions by login method (auth.session.revalidate): single sign-on adds its own as it starts. */
  revalidators?: RevalidatingSessionVerifier['lookups'];
  /** Once per flush interval: files whose last write failed are written again. */
  maintain?(): void;
  /** The local users as this hub holds them (in a group, its copy of the group's): no secrets. */
  localUsers?(): LocalUserView[];
}

/** The parts of the hub's config that logins read (the hub passes its whole config). */
export interface LoginsConfig {
  auth: AuthConfig;
  data_dir: string;
  sso?: { ldap?: LdapConfig };
  security?: SecurityConfig;
}

export function createLogins(config: LoginsConfig, deps: LoginsDeps): Logins {
  const auth = config.auth;
  const logger = deps.logger.child({ component: 'login' });
  passwordHashPool.configure(auth.password_hashing.threads ?? defaultHashThreads(), auth.password_hashing.queue);
  let store = auth.session.store;
  if (store === 'auto') store = deps.sharedKv ? 'redis' : 'file';
  if (store === 'redis' && !deps.sharedKv) throw new Error('auth.session.store is redis but the hub has no redis section');
  const stored: SessionStore =
    store === 'redis' ? new SharedSessionStore(deps.sharedKv!, deps.atRest) : store === 'file' ? new FileSessionStore(config.data_dir, Date.now, deps.atRest, deps.faults) : new MemorySessionStore();
  const sessions: SessionStore = deps.ends ? new AnnouncingSessionStore(stored, deps.ends) : stored;
  // Shared by the hub group (security store, else Redis); while that is away each hub counts
  // alone (README: what that allows), in its data directory so a restart does not end a lockout.
  const local = new CountingLoginLimiter(new FileLimiterBackend(config.data_dir, deps.atRest ?? AtRest.plaintext(), logger, Date.now, deps.faults));
  const shared: LoginLimiter | undefined = deps.limiterBackend
    ? new CountingLoginLimiter(deps.limiterBackend)
    : deps.redis
      ? new RedisLoginLimiter(deps.redis.client, deps.redis.prefix)
      : undefined;
  const limiter: LoginLimiter = shared ? new FallbackLoginLimiter(shared, local, logger) : local;
  if (auth.mfa.enabled && auth.mfa.required_roles.length > 0 && !deps.rolesOf) {
    logger.warn({ required_roles: auth.mfa.required_roles }, 'auth.mfa.required_roles: the RBAC roles of users are not known to logins yet, so every user must give a TOTP code');
  }
  const userFile = new LocalUserStore(config.data_dir, undefined, deps.atRest, deps.faults);
  const localUsers: UserDirectory = deps.sharedUsers ? deps.sharedUsers(userFile) : userFile;
  const totp = totpProvider(auth);
  const webauthnConfig = webauthnProvider(auth);
  // WebAuthn challenges: in the region's shared store when clustered, so any hub of the group takes the answer.
  const webauthn = webauthnConfig
    ? new WebauthnFactor(webauthnConfig, localUsers, new ChallengeStore(deps.sharedKv ?? new MemorySharedKvStore(), deps.once, webauthnConfig.challenge_ttl))
    : undefined;
  const ldap = config.sso?.ldap ? new LdapDirectory(config.sso.ldap, logger, process.env, hasTlsPolicy(config.security) ? tlsPolicyFrom(config.security) : undefined) : undefined;
  if (ldap && !ldap.canLookUp) logger.warn('auth.session.revalidate: LDAP sessions are not re-checked without a service account (sso.ldap.bind_dn and user_base_dn); they last their ttl');
  const login = new LoginService({
    config: auth,
    sessions,
    limiter,
    limits: new LoginLimits(auth.rate_limit),
    ...(totp ? { totp: new TotpVerifier(deps.once, totp.window) } : {}),
    ...(webauthn ? { webauthn } : {}),
    localUsers,
    ...(ldap ? { ldap } : {}),
    logger,
    ...(deps.rolesOf ? { rolesOf: deps.rolesOf } : {}),
  });
  // Directory sessions re-check their account every auth.session.revalidate (session-revalidation.ts).
  const sessionVerifier = new RevalidatingSessionVerifier(
    new LocalUserSessionVerifier(new SessionVerifier(sessions), localUsers),
    sessions,
    ldap?.canLookUp ? { ldap } : {},
    { intervalMs: auth.session.revalidate, ttlMs: auth.session.ttl },
    logger,
  );
  const maintain = (): void => {
    localUsers.maintain();
    if (stored instanceof FileSessionStore) stored.maintain();
  };
  return { sessions, login, ...(webauthn ? { webauthn } : {}), ...(ldap ? { ldap } : {}), verifiers: [sessionVerifier], revalidators: sessionVerifier.lookups, maintain, localUsers: () => userFile.list() };
}

/** Sessions of a local user end when `sfleet user remove` removes the user (not only at expiry). */
export class LocalUserSessionVerifier implements BearerVerifier {
  readonly kind = 'session';
  constructor(
    private readonly sessions: BearerVerifier,
    private readonly users: Pick<UserDirectory, 'get'>,
  ) {}
  async verify(credential: string, input: AuthInput): Promise<Principal | undefined> {
    const principal = await this.sessions.verify(credential, input);
    if (principal?.method === 'local' && !this.users.get(principal.name)?.password_hash) {
      throw new UnauthenticatedError('this local user was removed: the session has ended');
    }
    return principal;
  }
}
