// The audit log of one hub: decides the level, redacts, writes the record to the hash chain
// (durable before record() resolves), then hands it to the shipping destinations. Callers
// await record() before they answer; when it throws, a mutation must not be reported as done.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../../shared/logging/index.js';
import { NodeAuditFiles, AUDIT_FILE_RE, type AuditFiles } from './audit-files.js';
import { ChainWriter, dayOf, type PendingRecord } from './chain-writer.js';
import type { AuditConfig } from './config.js';
import { AuditWriteError } from './errors.js';
import { levelFor } from './policy.js';
import { queryAudit, type AuditQuery } from './query.js';
import type { AuditEvent, AuditLine, AuditRecord, RetentionInfo } from './record.js';
import { redact } from './redact.js';
import { boundEvent, boundRequest } from './bound.js';
import { ElasticsearchSink } from './ship/elasticsearch.js';
import { readSecret } from './secrets.js';
import { Shipper } from './ship/shipper.js';
import type { AuditSink } from './ship/sink.js';
import { WebhookSink } from './ship/webhook.js';
import { verifyChain, type VerifyResult } from './verify.js';

const DAY_MS = 86_400_000;
const RETENTION_EVERY_MS = 3_600_000;

export interface AuditLogOptions {
  hubId: string;
  dataDir: string;
  logger: Logger;
  now?: () => number;
  /** Storage; default: plain files in the audit dir. */
  files?: AuditFiles;
  env?: NodeJS.ProcessEnv;
}

export class AuditLog {
  readonly files: AuditFiles;
  readonly writer: ChainWriter;
  readonly shippers: Shipper[];
  readonly recorded = { success: 0, denied: 0, failed: 0, error: 0 };
  private readonly now: () => number;
  private readonly logger: Logger;
  private retentionTimer?: NodeJS.Timeout;
  private failureLogged = false;
  private readonly observers: ((event: AuditEvent) => void)[] = [];

  constructor(
    readonly config: AuditConfig,
    opts: AuditLogOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger.child({ component: 'audit' });
    if (opts.files) this.files = opts.files;
    else {
      const files = new NodeAuditFiles(config.dir ?? join(opts.dataDir, 'audit'));
      files.ensureDir();
      this.files = files;
    }
    const key = readSecret('audit HMAC key', { env: config.hmac_key_env, file: config.hmac_key_file }, opts.env);
    this.key = key === undefined ? undefined : Buffer.from(key, 'utf8');
    this.writer = new ChainWriter(this.files, { hubId: opts.hubId, maxFileBytes: config.max_file_size, now: this.now, key: this.key });
    this.hubId = opts.hubId;
    const ship = config.ship;
    const sinks: AuditSink[] = [];
    if (ship?.elasticsearch) sinks.push(new ElasticsearchSink(ship.elasticsearch, ship.timeout, opts.env));
    if (ship?.webhook) sinks.push(new WebhookSink(ship.webhook, ship.timeout, opts.env));
    this.shippers = sinks.map((sink) => {
      const name = `ship-${sink.name}.cursor` as const;
      const cursor = {
        read: () => {
          const text = this.files.readMeta(name);
          const seq = text === undefined ? NaN : Number(text.trim());
          return Number.isInteger(seq) && seq >= 0 ? seq : undefined;
        },
        write: (seq: number) => this.files.writeMeta(name, `${seq}\n`),
      };
      return new Shipper(sink, { buffer: ship!.buffer, batch: ship!.batch, flushIntervalMs: ship!.flush_interval, initialBackoffMs: ship!.initial_backoff, maxBackoffMs: ship!.max_backoff }, this.logger, cursor);
    });
  }

  private readonly hubId: string;
  private readonly key?: Buffer;

  /** Finds the end of the chain (repairing a torn last line), applies retention, starts the hourly retention run. */
  async open(): Promise<void> {
    const { repaired } = this.writer.open();
    if (repaired) this.logger.warn({ file: this.writer.currentFile }, 'cut an incomplete last line off the audit log (a write interrupted by a crash, never acknowledged)');
    const problem = this.writer.checkHead();
    if (problem) {
      this.logger.error({ problem, dir: this.files.dir }, 'the audit files do not match their HMAC-keyed HEAD: they were changed while the hub was down; run sfleet audit verify');
      await this.record({ action: 'audit:integrity', resource: `audit dir ${this.files.dir}`, outcome: 'error', reason: `${problem}: the files were changed while the hub was down`, required: true });
    }
    this.backfillShipping();
    await this.applyRetention();
    this.retentionTimer = setInterval(() => void this.applyRetention().catch((err: Error) => this.logger.error({ err: err.message }, 'audit retention failed')), RETENTION_EVERY_MS);
    this.retentionTimer.unref();
  }

  /**
   * Records written but not shipped before the last stop (the destination was down, the hub
   * stopped) are queued again from the files. A destination configured for the first time
   * starts with the records written from now on.
   */
  private backfillShipping(): void {
    for (const shipper of this.shippers) {
      const cursor = shipper.cursorSeq();
      if (cursor === undefined) {
        shipper.startAt(this.writer.lastSeq);
        continue;
      }
      const page = this.query({ cursor, limit: this.config.ship!.buffer });
      for (const rec of page.items) shipper.enqueue(rec);
      if (page.items.length) this.logger.info({ sink: shipper.sink.name, records: page.items.length, from_seq: page.items[0].seq }, 'shipping audit records written before the last stop');
      if (page.next_cursor) this.logger.warn({ sink: shipper.sink.name, buffer: this.config.ship!.buffer }, 'more unshipped audit records than the shipping buffer holds: the oldest are shipped, the rest stay in the local files only');
    }
  }

  /** Sees every event given to record(), whatever its level (alerting counts failed logins). */
  observe(listener: (event: AuditEvent) => void): void {
    this.observers.push(listener);
  }

  /** False after a failed write, until a write succeeds again: mutations are refused meanwhile. */
  get writable(): boolean {
    return !this.writer.failing;
  }

  /** Records the event (or not, at level None) and resolves once it is durable. Throws AuditWriteError. */
  async record(given: AuditEvent): Promise<AuditRecord | undefined> {
    for (const observe of this.observers) {
      try {
        observe(given);
      } catch {
        // An observer never stops a record.
      }
    }
    // Capped first: a caller's 32 MiB resource name costs the log 512 chars (bound.ts).
    const event = boundEvent(given);
    const level = levelFor(this.config, event);
    if (level === 'None') return undefined;
    return this.write({
      type: 'record',
      id: randomUUID(),
      timestamp: new Date(this.now()).toISOString(),
      level,
      hub_id: this.hubId,
      user: event.user ?? null,
      auth_method: event.auth_method ?? null,
      action: event.action,
      resource: event.resource ?? '',
      outcome: event.outcome,
      status: event.status ?? null,
      reason: event.reason ?? null,
      source_ip: event.source_ip ?? null,
      request_id: event.request_id ?? null,
      tenant: event.tenant ?? null,
      transport: event.transport ?? 'internal',
      ...(level === 'Request' && event.request ? { request: boundRequest(redact(event.request) as Record<string, unknown>) } : {}),
    });
  }

  private async write(pending: PendingRecord): Promise<AuditRecord> {
    let rec: AuditRecord;
    try {
      rec = await this.writer.write(pending);
    } catch (err) {
      if (!this.failureLogged) this.logger.error({ err: (err as Error).message, dir: this.files.dir }, 'audit log write failed: changes are refused until it works again');
      this.failureLogged = true;
      throw new AuditWriteError();
    }
    if (this.failureLogged) this.logger.info('audit log writes work again');
    this.failureLogged = false;
    this.recorded[rec.outcome]++;
    for (const s of this.shippers) s.enqueue(rec);
    return rec;
  }

  query(q: AuditQuery): { items: AuditRecord[]; next_cursor: string | null } {
    return queryAudit(this.files, q);
  }

  verify(): VerifyResult {
    return verifyChain(this.files, { key: this.key });
  }

  /**
   * Deletes whole files of UTC days older than retention_days. First it records which files go
   * and where the chain will start (so verify accepts the missing start), then deletes them.
   */
  async applyRetention(): Promise<RetentionInfo | undefined> {
    const cutoff = this.now() - this.config.retention_days * DAY_MS;
    const cutoffDay = dayOf(cutoff);
    const names = this.files.list();
    const current = this.writer.currentFile;
    const old = names.filter((n) => AUDIT_FILE_RE.exec(n)![1] < cutoffDay && n !== current);
    if (old.length === 0) return undefined;
    const firstKept = names[old.length];
    const anchor = JSON.parse(this.files.read(firstKept).split('\n', 1)[0]) as AuditLine;
    const retention: RetentionInfo = { deleted: old, cutoff: new Date(cutoff).toISOString(), chain_starts_at: { file: firstKept, anchor_hash: anchor.hash } };
    await this.write({
      type: 'record',
      id: randomUUID(),
      timestamp: new Date(this.now()).toISOString(),
      level: 'Metadata',
      hub_id: this.hubId,
      user: null,
      auth_method: null,
      action: 'audit:retention',
      resource: old.length === 1 ? `audit file ${old[0]}` : `audit files ${old[0]}..${old[old.length - 1]}`,
      outcome: 'success',
      status: null,
      reason: `older than retention_days (${this.config.retention_days})`,
      source_ip: null,
      request_id: null,
      tenant: null,
      transport: 'internal',
      retention,
    });
    for (const name of old) this.files.remove(name);
    this.logger.info({ deleted: old.length, first: old[0], last: old[old.length - 1], starts_at: firstKept }, 'audit retention deleted old files');
    return retention;
  }

  async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    await this.writer.drain();
    await Promise.all(this.shippers.map((s) => s.close()));
    await this.files.close();
  }
}
