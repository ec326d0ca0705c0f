// The hub's configuration, composed of the sections that each feature folder defines beside the
// code that reads it. Unknown keys are errors; defaults are filled by the sections' schemas,
// nowhere else. docs/config.md is generated from these schemas (npm run docs).
import { hostname } from 'node:os';
import { z } from 'zod';
import { logLevel } from '../../shared/config/index.js';
import { encryptionConfigSchema } from '../../shared/crypto/config.js';
import { listenConfigSchema } from '../api/config.js';
import { auditConfigSchema } from '../audit/config.js';
import { commandsConfigSchema } from '../commands/config.js';
import { submitConfigSchema } from '../submit/config.js';
import { regionsConfigSchema } from '../federation/config.js';
import { authConfigSchema, hardwareKeyFromOrigins, ldapConfigSchema } from '../login/config.js';
import { oidcConfigSchema } from '../login/oidc/config.js';
import { samlConfigSchema } from '../login/saml/config.js';
import { kerberosConfigSchema } from '../login/kerberos/config.js';
import { streamConfigSchema } from '../ingest/config.js';
import { etcdConfigSchema } from '../leader/config.js';
import { rbacConfigSchema } from '../policy/rbac/config.js';
import { redisConfigSchema } from '../replication/config.js';
import { hubTlsConfigSchema } from '../tls/config.js';
import { multiTenancyConfigSchema } from '../tenancy/config.js';
import { ownershipClashes } from '../tenancy/clash.js';
import { historyConfigSchema } from '../history/config.js';
import { observabilityConfigSchema } from '../metrics/config.js';
import { httpConfigSchema, limitsConfigSchema } from '../limits/config.js';
import { alertingConfigSchema, routeProblems } from '../alerting/config.js';
import { backupConfigSchema } from '../backup/config.js';
import { checkDataAtRest, effectiveEncryption, securityConfigSchema } from '../../shared/security/index.js';
import { scalingConfigSchema } from './scaling.js';
import { integrationProblems, integrationsConfigSchema, withIntegrationChannels } from './integrations.js';
import { withoutIntegrationChannels } from './integrations.js';
import { clustersConfigSchema } from '../declared-clusters/index.js';
import { checkCompliance, complianceConfigSchema } from '../compliance/index.js';

export { etcdConfigSchema, type EtcdConfig } from '../leader/config.js';
export { redisConfigSchema, type RedisConfig } from '../replication/config.js';
export { regionsConfigSchema, type RegionsConfig } from '../federation/config.js';
export { OIDC_ALGORITHMS, oidcConfigSchema, type OidcConfig } from '../login/oidc/config.js';
export { samlConfigSchema, type SamlConfig } from '../login/saml/config.js';

/** Single sign-on: all off unless configured. */
export const ssoConfigSchema = z
  .object({
    oidc: oidcConfigSchema.optional().describe('An OIDC issuer: bearer JWTs and the browser login.'),
    saml: samlConfigSchema.optional().describe('A SAML 2.0 identity provider: the browser login.'),
    ldap: ldapConfigSchema.optional().describe('An LDAP / Active Directory directory: password logins.'),
    kerberos: kerberosConfigSchema.optional().describe('Kerberos (SPNEGO) logins with a ticket from the site\'s KDC.'),
  })
  .strict();

const hubConfigObject = z
  .object({
    region: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes').default('default').describe("This hub's region; the hubs of one region form a hub group."),
    hub_id: z
      .string()
      .min(1)
      .max(64)
      .default(hostname())
      .describe('This hub among the hubs of its group (unique per group).')
      .meta({ defaultText: 'the host name' }),
    listen: listenConfigSchema.describe('Where the hub listens.'),
    tls: hubTlsConfigSchema.describe("The hub's certificate (for both listeners) and the fleet CA that client certificates must chain to."),
    data_dir: z.string().min(1).default('./sfleet-data').describe('Where the hub keeps its state (fleet store, event log, users, tokens, audit).'),
    commands: commandsConfigSchema.describe('Job and node commands, sent to the agent of the cluster.'),
    stream: streamConfigSchema.describe('The agent stream.'),
    log_level: logLevel.describe('The least level written to the log.'),
    etcd: etcdConfigSchema.optional().describe('Clustered mode, part 1: membership, leader election and fencing in etcd. Absent: a standalone hub.'),
    redis: redisConfigSchema.optional().describe('Clustered mode, part 2: shared state in Redis (replication, dedupe, sessions). Needs etcd.'),
    regions: regionsConfigSchema.optional().describe('Multi-region: the peer regions that a scope=global query asks.'),
    sso: ssoConfigSchema.optional().describe('Single sign-on: OIDC, SAML, LDAP and Kerberos, each off unless configured.'),
    rbac: rbacConfigSchema.optional().describe('Access control: roles and who has them. Absent: every authenticated caller is an admin.'),
    auth: authConfigSchema.prefault({}).describe('Logins: second factors, local users, sessions, rate limits.'),
    audit: auditConfigSchema.prefault({}).describe('The hash-chained audit log and where it is shipped.'),
    encryption: encryptionConfigSchema.optional().describe("Encryption at rest of the hub's files."),
    submit: submitConfigSchema.describe('Job submission through the hub (POST /api/v1/jobs/{cluster}, sfleet submit): the login -> Slurm user mapping and what is never submitted as.'),
    multi_tenancy: multiTenancyConfigSchema.optional().describe('Tenants: who belongs to which, what each sees, and its resource limits. Absent: no tenants.'),
    history: historyConfigSchema.prefault({}).describe('The job history: finished runs kept as Parquet after Slurm forgets them, and the usage reports over it.'),
    observability: observabilityConfigSchema.describe('Metrics (Prometheus, Pushgateway, the cardinality guard) and tracing.'),
    http: httpConfigSchema.describe('The HTTPS listener: allowed origins, trusted proxies, timeouts and connection caps.'),
    limits: limitsConfigSchema.describe('What a caller can make the hub hold: message sizes, watch buffers, watches per caller.'),
    alerting: alertingConfigSchema.prefault({}).describe('Alerting: built-in and custom rules, routes, silences, escalation policies and channels. Without channels alerts are listed, not sent.'),
    security: securityConfigSchema.optional().describe('TLS of every listener and client (version, TLS 1.3 suites) and encryption at rest (algorithm, key provider).'),
    clusters: clustersConfigSchema.optional(),
    scaling: scalingConfigSchema.optional().describe("The hub group's size for the deployment's autoscaler (sfleet deploy render kubernetes) and its Redis (shared_state)."),
    compliance: complianceConfigSchema.optional().describe('Compliance frameworks (sox, gdpr, hipaa, soc2): presets that raise the audit settings, pseudonymised exports, the evidence report.'),
    backup: backupConfigSchema.optional().describe('Backups of the configuration and every durable store of the data directory: scheduled (leader) and on demand, AES-256-GCM, to local directories and S3/GCS buckets.'),
    integrations: integrationsConfigSchema.optional(),
  })
  .strict();

const checkedHubConfig = hubConfigObject
  .superRefine((c, ctx) => {
    for (const p of integrationProblems(c)) ctx.addIssue({ code: 'custom', ...p });
    if (c.redis && !c.etcd) {
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'shared state in Redis needs etcd too (its leader compacts the replication stream): add an etcd section' });
    }
    checkScaling(c, ctx);
    if (!hardwareKeyFromOrigins(c.auth, c.http.allowed_origins)) {
      const i = c.auth.mfa.providers.findIndex((p) => p.type === 'hardware');
      if (c.http.allowed_origins.length === 0) ctx.addIssue({ code: 'custom', path: ['auth', 'mfa', 'providers', i], message: 'a hardware key (FIDO2/WebAuthn) is bound to the origins browsers use: set rp_id and origins here, or list the dashboard\'s https origins in http.allowed_origins' });
      else ctx.addIssue({ code: 'custom', path: ['http', 'allowed_origins'], message: `no https origin for the hardware key of auth.mfa.providers.${i} to be bound to (WebAuthn needs https): add the dashboard's https origin, or set rp_id and origins on the provider` });
    }
    checkDataAtRest(c, ctx);
    checkCompliance(c, ctx);
    if (c.redis?.encrypt_replication && !effectiveEncryption(c.encryption, c.security)?.enabled) {
      ctx.addIssue({ code: 'custom', path: ['redis', 'encrypt_replication'], message: 'seals with the key of encryption at rest, which is off: enable encryption (or security.encryption.data_at_rest)' });
    }
    if (c.backup?.encryption === true && !effectiveEncryption(c.encryption, c.security)?.enabled) {
      ctx.addIssue({ code: 'custom', path: ['backup', 'encryption'], message: "true uses the key provider of the hub's encryption at rest, which is off: enable encryption (or security.encryption.data_at_rest), or give backup.encryption a provider of its own (provider, file/env/vault)" });
    }
    // On-call contacts are read by sso.ldap's service account (no user password to bind with).
    if (c.alerting.directory_contacts && !(c.sso?.ldap?.bind_dn && c.sso.ldap.user_base_dn)) {
      ctx.addIssue({ code: 'custom', path: ['alerting', 'directory_contacts'], message: 'reads contacts from the directory with its service account: configure sso.ldap with bind_dn and user_base_dn' });
    }
    for (const clash of ownershipClashes(c.multi_tenancy?.tenants ?? {}, c.region)) {
      ctx.addIssue({ code: 'custom', path: ['multi_tenancy', 'tenants', clash.tenant, 'clusters', clash.index], message: clash.message });
    }
    // A tenant's own alert routes name the alerting section's policies and channels.
    for (const [name, tenant] of Object.entries(c.multi_tenancy?.tenants ?? {})) {
      for (const [r, route] of (tenant.alerts?.routes ?? []).entries()) {
        for (const p of routeProblems(route, c.alerting)) ctx.addIssue({ code: 'custom', path: ['multi_tenancy', 'tenants', name, 'alerts', 'routes', r, ...p.path], message: p.message });
      }
    }
    for (const [i, peer] of (c.regions?.peers ?? []).entries()) {
      if (peer.name === c.region) ctx.addIssue({ code: 'custom', path: ['regions', 'peers', i, 'name'], message: `"${peer.name}" is this hub's own region` });
    }
  })
  .transform((c) => withHardwareKey(withSharedState(c)));

/** The integrations' channels join alerting.channels before alerting is checked (hub/config/integrations.ts). */
export const hubConfigSchema = z.preprocess(withIntegrationChannels, checkedHubConfig);

/**
 * The config as `sfleet config export` writes it back: without what the load derived from other
 * keys (integrations' channels, the redis: section of scaling.shared_state). Written out they would
 * clash on the next load, and a derived redis.url would lose the ${VAR} its source was written as.
 */
export function withoutDerived<C extends { redis?: unknown; integrations?: unknown; alerting: { channels: { name?: string; type: string }[] } }>(config: C, raw: unknown): C {
  const written = withoutIntegrationChannels(config, raw);
  const rawRedis = (raw as { redis?: unknown } | undefined)?.redis;
  if (written.redis === undefined || rawRedis !== undefined) return written;
  const { redis: _derived, ...rest } = written;
  return rest as C;
}

/** scaling.shared_state is the group's Redis: as a redis: section with that url (the defaults for the rest). */
function withSharedState<C extends { redis?: z.infer<typeof redisConfigSchema>; scaling?: z.infer<typeof scalingConfigSchema> }>(c: C): C {
  const url = c.scaling?.shared_state?.url;
  return url && !c.redis ? { ...c, redis: redisConfigSchema.parse({ url }) } : c;
}

/** auth.mfa's hardware provider with its rp_id and origins from http.allowed_origins when left out (checked above). */
function withHardwareKey<C extends { auth: z.infer<typeof authConfigSchema>; http: { allowed_origins: string[] } }>(c: C): C {
  const auth = hardwareKeyFromOrigins(c.auth, c.http.allowed_origins);
  return auth && auth !== c.auth ? { ...c, auth } : c;
}

function checkScaling(c: z.infer<typeof hubConfigObject>, ctx: z.RefinementCtx): void {
  if (!c.scaling) return;
  const url = c.scaling.shared_state?.url;
  if (url && c.redis && (c.redis.url !== url || c.redis.sentinels.length > 0)) {
    ctx.addIssue({ code: 'custom', path: ['scaling', 'shared_state', 'url'], message: 'names another Redis than the redis: section: set one of them (shared_state.url is the same as redis.url)' });
  }
  if (c.scaling.max_instances > 1 && !c.etcd) {
    ctx.addIssue({ code: 'custom', path: ['scaling'], message: `up to ${c.scaling.max_instances} hubs form a hub group, and a group needs etcd for membership, leader election and fencing: add an etcd section` });
  }
  if (url && !c.etcd && c.scaling.max_instances <= 1) {
    ctx.addIssue({ code: 'custom', path: ['scaling', 'shared_state'], message: 'shared state in Redis needs etcd too (its leader compacts the replication stream): add an etcd section' });
  }
}

export type HubConfig = z.infer<typeof hubConfigSchema>;
export type SsoConfig = z.infer<typeof ssoConfigSchema>;
