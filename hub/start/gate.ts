// Stage 4, gate: who may call and what they may do, the same for REST, gRPC and watch streams.
// RBAC, logins (local users, LDAP, TOTP, WebAuthn; sessions shared in Redis when clustered),
// single sign-on (OIDC bearer tokens and browser logins, SAML) and the authenticator that ends
// in one Principal. The API's audit hooks record through foundations' audit log. A login
// directory or IdP whose files cannot be read stops the start here.
import { createRedis } from '../replication/index.js';
import { createLogins, CredentialEnds, type Logins } from '../login/index.js';
import { startOidc, type Oidc } from '../login/oidc/index.js';
import { startSaml, type Saml } from '../login/saml/index.js';
import { startKerberos, type Kerberos } from '../login/kerberos/index.js';
import { SmartCardLogin } from '../login/smart-card/index.js';
import { Authenticator, FileTokenRegistry, Rbac, TokenStore, type BearerVerifier, type TokenRegistry } from '../policy/index.js';
import {
  EtcdSecurityStore,
  loginFailuresBySource,
  SecurityStoreLimiterBackend,
  shareRevocations,
  SharedOidcLogins,
  SharedKerberosReplay,
  SharedSamlReplay,
  SharedSamlRequests,
  SharedTokenRegistry,
  SharedUserDirectory,
  sweepExpiredLoginState,
  type SecurityStore,
} from '../security-store/index.js';
import { Tenancy } from '../tenancy/index.js';
import type { CloseStack } from './close-stack.js';
import { DURABLE_CHECK_INTERVAL_MS, type Foundations } from './foundations.js';
import type { Region } from './region.js';

export interface Gate {
  /** One RBAC policy for REST, gRPC and watch streams (config rbac; absent: everyone authenticated is an admin). */
  rbac: Rbac;
  /** multi_tenancy, when configured (the rbac narrows every caller's rows by it when enabled). */
  tenancy?: Tenancy;
  logins: Logins;
  oidc?: Oidc;
  saml?: Saml;
  kerberos?: Kerberos;
  /** auth.smart_card: its route is registered with the API, its listener opened beside it. */
  smartCard?: SmartCardLogin;
  authenticator: Authenticator;
  /** API tokens: data_dir/tokens.json standalone, the group's security store when clustered. */
  tokens: TokenRegistry;
  /** Clustered: the group's shared security store (etcd). */
  security?: SecurityStore;
  /** Sessions and tokens that ended, here or on another hub of the group: open watches re-check at once. */
  ends: CredentialEnds;
}

export async function openGate({ config, logger, atRest, revocations, faults, tls }: Foundations, region: Region, stack: CloseStack): Promise<Gate> {
  const { replication, shared, etcd } = region;
  const tenancy = config.multi_tenancy ? new Tenancy(config.multi_tenancy, config.region) : undefined;
  const rbac = new Rbac(config.rbac, tenancy?.enabled ? tenancy : undefined, config.region);
  // A hub group's tokens and revocations: every hub answers alike, and keeps its last copy while etcd is away.
  const fileTokens = new TokenStore(config.data_dir, atRest, faults);
  let tokens: TokenRegistry = new FileTokenRegistry(fileTokens);
  let security: EtcdSecurityStore | undefined;
  if (etcd && config.etcd) {
    security = new EtcdSecurityStore({ client: etcd, prefix: config.etcd.prefix, region: config.region, dataDir: config.data_dir, atRest, logger: logger.child({ component: 'security-store' }) });
    stack.defer('security store', () => security!.close());
    await security.start(config.etcd.dial_timeout + config.etcd.call_timeout);
    const registry = new SharedTokenRegistry(security, fileTokens);
    await registry.importFile(fileTokens.records());
    tokens = registry;
    await shareRevocations(security, revocations).publish();
  }
  // A logout or revocation on any hub of the group reaches the others' open watches at once: over
  // Redis, and for API tokens through the security store's own watch (the tombstone has arrived).
  const ends = new CredentialEnds(replication?.credentialEnds);
  security?.onChange('tokens', (id) => {
    const record = security!.get<object>('tokens', id);
    if (record && 'revoked_at' in record) ends.heard();
  });
  // Logins: sessions shared in Redis when clustered, login counters in the security store (Redis
  // without etcd), TOTP codes spent region-wide.
  const limiterBackend = security ? new SecurityStoreLimiterBackend(security) : undefined;
  // The leader's login_failures rule counts the group's failed logins, not only its own.
  if (security) region.alerting.countLoginFailuresFrom((now, windowMs) => loginFailuresBySource(security!, now, windowMs));
  if (limiterBackend) stack.defer('login counters (security store)', () => limiterBackend.close());
  const loginRedis = config.redis && !limiterBackend ? createRedis(config.redis, { name: 'login', offlineQueue: false }).on('error', () => undefined) : undefined;
  if (loginRedis) stack.defer('login counters (Redis)', () => loginRedis.disconnect());
  // Local users (hashes, TOTP secrets, WebAuthn credentials) in the security store: users.json is this hub's door to them.
  let sharedUsers: SharedUserDirectory | undefined;
  const logins = createLogins(config, {
    logger,
    atRest,
    faults,
    // auth.mfa.required_roles: the user's RBAC roles as bound at login.
    rolesOf: (principal) => rbac.grants(principal).map((g) => g.role),
    once: shared.dedupe,
    ends,
    ...(replication ? { sharedKv: replication.sharedKv } : {}),
    ...(limiterBackend ? { limiterBackend } : {}),
    ...(security ? { sharedUsers: (file) => (sharedUsers = new SharedUserDirectory(security!, file, logger.child({ component: 'security-store' }))) } : {}),
    ...(loginRedis && config.redis ? { redis: { client: loginRedis, prefix: `${config.redis.key_prefix}:${config.region}:login:` } } : {}),
  });
  // alerting.directory_contacts: on-call users' mail and mobile, read by sso.ldap's service account.
  const directory = logins.ldap;
  if (directory && config.alerting.directory_contacts) region.alerting.readContactsFrom((user, attrs) => directory.attributesOf(user, attrs));
  if (sharedUsers) {
    const users = sharedUsers;
    stack.defer('local users (security store)', () => users.close());
    await users.sync();
  }
  // Single sign-on: OIDC bearer JWTs and browser logins (OIDC, SAML) ending in the same sessions as
  // password logins; in a hub group their login state is shared, so a login may finish on another hub.
  if (security) {
    const sweeper = sweepExpiredLoginState(security);
    stack.defer('login state sweeper', () => sweeper.stop());
  }
  const ssoLogger = logger.child({ component: 'sso' });
  // auth.session.revalidate: OIDC sessions refresh at the issuer; a SAML session (no back channel) lasts one interval.
  const revalidateMs = config.auth.session.revalidate;
  const oidc = config.sso?.oidc?.enabled ? startOidc(config.sso.oidc, { logger, sessions: logins.sessions, revalidateMs, ...(security ? { states: new SharedOidcLogins(security, ssoLogger) } : {}) }) : undefined;
  if (oidc) stack.defer('OIDC issuer', () => oidc.close());
  if (oidc && logins.revalidators) logins.revalidators.oidc = oidc.revalidator;
  const saml = config.sso?.saml?.enabled
    ? startSaml(config.sso.saml, { logger, sessions: logins.sessions, revalidateMs, ...(security ? { shared: { used: new SharedSamlReplay(security), requests: new SharedSamlRequests(security) } } : {}) })
    : undefined;
  // Kerberos: accounts and groups from sso.ldap when configured, so its sessions are re-checked as LDAP ones are.
  const kerberos = config.sso?.kerberos?.enabled
    ? startKerberos(config.sso.kerberos, { logger, sessions: logins.sessions, revalidateMs, ...(logins.ldap ? { directory: logins.ldap } : {}), ...(security ? { replay: new SharedKerberosReplay(security, logger.child({ component: 'kerberos' })) } : {}) })
    : undefined;
  if (kerberos && logins.revalidators?.ldap && config.sso?.kerberos?.require_directory_account) logins.revalidators.kerberos = logins.revalidators.ldap;
  // Smart cards: the enterprise CA and CRL are read here (a bad file stops the start); a card put on the CRL ends its sessions at their re-check.
  const card = config.auth.smart_card;
  const smartCard = card?.enabled ? new SmartCardLogin(card, { logger, sessions: logins.sessions, sessionTtlMs: config.auth.session.ttl, cert: tls.cert, key: tls.key, ...(tls.policy ? { policy: tls.policy } : {}) }) : undefined;
  if (smartCard) stack.defer('smart-card listener', () => smartCard.close());
  if (smartCard && logins.revalidators) logins.revalidators.smart_card = smartCard.revalidator;
  const verifiers: BearerVerifier[] = [...logins.verifiers, ...(oidc ? [oidc.verifier] : [])];
  // Revoked client certificates are refused on every request, including on connections already open.
  const authenticator = new Authenticator(tokens, verifiers, { revokedCertificate: (serial) => revocations.revoked(serial) });
  // The flush interval of the small files: one whose last write failed is written again, so /healthz recovers with the disk.
  const maintenance = setInterval(() => {
    fileTokens.maintain();
    logins.maintain?.();
  }, DURABLE_CHECK_INTERVAL_MS);
  maintenance.unref();
  stack.defer('token and login file checks', () => clearInterval(maintenance));
  return { rbac, ...(tenancy ? { tenancy } : {}), logins, ...(oidc ? { oidc } : {}), ...(saml ? { saml } : {}), ...(kerberos ? { kerberos } : {}), ...(smartCard ? { smartCard } : {}), authenticator, tokens, ...(security ? { security } : {}), ends };
}

