// Stage 1, foundations: what every other part stands on. The hub's TLS material, the data
// directory, the keys of encryption at rest, the revocation list and agent certificates, and
// the audit log. A missing key, an unreadable TLS file or audit directory stops the start here.
import { mkdirSync } from 'node:fs';
import { AtRest } from '../../shared/crypto/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { loadCa, loadTls, revocationPath, type TlsMaterial } from '../../shared/tls/index.js';
import { AuditLog } from '../audit/index.js';
import type { HubConfig } from '../config/index.js';
import { ChangeLog, ChangeShipper } from '../backup/pitr/index.js';
import { AgentCertificates } from '../ingest/index.js';
import { RevocationWatcher } from '../tls/index.js';
import type { CloseStack } from './close-stack.js';
import { systemClock, type Clock } from '../../shared/clock/index.js';
import { WriteFaults } from '../../shared/durability/index.js';
import { effectiveEncryption, tlsPolicyFrom } from '../../shared/security/index.js';
import { effectiveAudit } from '../compliance/index.js';

/**
 * The flush interval of the hub's durable files: each store checks its files this often (deleted,
 * truncated, broken by a failed write) and rewrites itself, or tries again after a failed write.
 */
export const DURABLE_CHECK_INTERVAL_MS = 2_000;

export interface Foundations {
  config: HubConfig;
  logger: Logger;
  tls: TlsMaterial;
  atRest: AtRest;
  /** Revoked certificates are refused on every listener (watched once the hub listens). */
  revocations: RevocationWatcher;
  /** Agent certificate checks and renewal over the stream. */
  certificates: AgentCertificates;
  audit: AuditLog;
  /** The hub's one clock: every part of its core reads the time from it. */
  clock: Clock;
  /** Failed durable writes of every store: /healthz and the metrics read it. */
  faults: WriteFaults;
  /** With backups: the change log of the durable stores (hub/backup/pitr). */
  changes?: ChangeLog;
}

export async function openFoundations(config: HubConfig, logger: Logger, stack: CloseStack): Promise<Foundations> {
  const tlsPolicy = tlsPolicyFrom(config.security);
  const tls = loadTls(config.tls, 'hub', tlsPolicy);
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  // Encryption at rest: the data keys of every sealed file are unwrapped now (a missing key stops the start here, naming the file).
  const atRest = await AtRest.create(effectiveEncryption(config.encryption, config.security), { logger, tlsPolicy });
  if (atRest.enabled) logger.info({ encryption: atRest.describe(), ...(await atRest.preload(config.data_dir)) }, 'encryption at rest: data keys loaded');

  // With backups: every whole-file store write from now on goes to the change log too (point-in-time recovery).
  const changes = config.backup ? ChangeLog.open({ dataDir: config.data_dir, atRest, clock: systemClock, logger: logger.child({ component: 'backup' }) }, ChangeShipper.shippedSeq(config.data_dir)) : undefined;
  if (changes) stack.defer('change log', () => changes.close());
  const revocations = new RevocationWatcher(revocationPath(config.data_dir), { logger });
  stack.defer('revocation list', () => revocations.close());
  const certificates = new AgentCertificates({
    logger: logger.child({ component: 'tls' }),
    revoked: (serial) => revocations.revoked(serial),
    ca: config.tls.ca_key ? await loadCa(config.tls.ca, config.tls.ca_key) : undefined,
    lifetimeMs: config.tls.issued_lifetime,
  });
  revocations.onChange(() => certificates.endRevoked());

  // A full or read-only disk fails every write: logged once a minute per store, counted every time.
  const faults = new WriteFaults({ logger, clock: systemClock }, { logIntervalMs: 60_000 });
  // Opened before the fleet: nothing may change before the audit log can record it.
  // Compliance presets only raise the audit settings (longer retention, more records).
  const audited = effectiveAudit(config.audit, config.compliance);
  if (audited.raised.length) logger.info({ raised: audited.raised }, 'compliance: audit settings raised by the frameworks');
  const audit = new AuditLog(audited.config, { hubId: config.hub_id, dataDir: config.data_dir, logger, faults, checkIntervalMs: DURABLE_CHECK_INTERVAL_MS, floors: audited.floors, tls: tlsPolicy });
  await audit.open();
  stack.defer('audit log', () => audit.close());
  return { config, logger, tls, atRest, revocations, certificates, audit, clock: systemClock, faults, ...(changes ? { changes } : {}) };
}
