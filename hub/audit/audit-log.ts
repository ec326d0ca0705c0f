// The audit log of one hub: decides the level, redacts, writes the record to the hash chain
// (durable before record() resolves), then hands it to the shipping destinations. Callers
// await record() before they answer; when it throws, a mutation must not be reported as done.
import type { TlsPolicy } from '../../shared/tls/index.js';
import { randomUUID } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../shared/logging/index.js';
import { NodeAuditFiles, AUDIT_FILE_RE, type AuditFiles } from './audit-files.js';
import { ChainWriter, dayOf, type PendingRecord } from './chain-writer.js';
import type { AuditConfig } from './config.js';
import { AuditWriteError } from './errors.js';
import { levelFor, type AuditRule } from './policy.js';
import { firstSeq, queryAudit, scanAudit, type AuditQuery } from './query.js';
import type { AuditEvent, AuditLevel, AuditLine, AuditRecord, RetentionInfo } from './record.js';
import { AuditFallback } from './fallback.js';
import { LostFileError, type WriteFaults } from '../../shared/durability/index.js';
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
  /** Failed writes of the audit log (store `audit`) and of its fallback directory (`audit-fallback`): metrics, /healthz. */
  faults?: WriteFaults;
  /** How often the file being written is checked (deleted, truncated) and a failed log probed; default 2 s. */
  checkIntervalMs?: number;
  /** Rules that only raise a record's level (compliance presets: hipaa records reads of job data). */
  floors?: readonly AuditRule[];
  /** security.encryption.tls: the TLS 1.3 suites of the shipping clients. */
  tls?: TlsPolicy;
}

/** The audit log's names in WriteFaults and the metrics. */
export const AUDIT_STORE = 'audit';
export const AUDIT_FALLBACK_STORE = 'audit-fallback';

export class AuditLog {
  readonly files: AuditFiles;
  readonly writer: ChainWriter;
  readonly shippers: Shipper[];
  readonly recorded = { success: 0, denied: 0, failed: 0, error: 0 };
  private readonly now: () => number;
  private readonly logger: Logger;
  private retentionTimer?: NodeJS.Timeout;
  private checkTimer?: NodeJS.Timeout;
  private failureLogged = false;
  private readonly observers: ((event: AuditEvent) => void)[] = [];
  private fallbackLogged = false;
  private maintaining = false;
  private readonly faults?: WriteFaults;
  /** audit.fallback_dir: takes a record the chain cannot, until it is folded back. */
  readonly fallback?: AuditFallback;

  constructor(
    readonly config: AuditConfig,
    opts: AuditLogOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger.child({ component: 'audit' });
    this.faults = opts.faults;
    this.checkIntervalMs = opts.checkIntervalMs ?? 2_000;
    this.policy = { level: config.level, rules: config.rules, floors: opts.floors ?? [] };
    if (config.fallback_dir) this.fallback = new AuditFallback(config.fallback_dir, opts.hubId);
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
    if (ship?.elasticsearch) sinks.push(new ElasticsearchSink(ship.elasticsearch, ship.timeout, opts.env, ship.fields, opts.tls));
    if (ship?.webhook) sinks.push(new WebhookSink(ship.webhook, ship.timeout, opts.env, ship.fields, opts.tls));
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

  readonly hubId: string;
  private readonly key?: Buffer;
  private readonly checkIntervalMs: number;
  private readonly policy: { level: AuditConfig['level']; rules: readonly AuditRule[]; floors: readonly AuditRule[] };

  /** Finds the end of the chain (repairing a torn last line), applies retention, starts the hourly retention run. */
  async open(): Promise<void> {
    const { repaired } = this.writer.open();
    if (repaired) this.logger.warn({ file: this.writer.currentFile }, 'cut an incomplete last line off the audit log (a write interrupted by a crash, never acknowledged)');
    const problem = this.writer.checkHead();
    if (problem) {
      this.logger.error({ problem, dir: this.files.dir }, 'the audit files do not match their HMAC-keyed HEAD: they were changed while the hub was down; run sfleet audit verify');
      await this.record({ action: 'audit:integrity', resource: `audit dir ${this.files.dir}`, outcome: 'error', reason: `${problem}: the files were changed while the hub was down`, required: true });
    }
    if (this.fallback && sameFilesystem(this.fallback.dir, this.files.dir)) {
      this.logger.warn({ fallback_dir: this.fallback.dir, dir: this.files.dir }, 'audit.fallback_dir is on the same filesystem as the audit directory: a full or read-only disk fails both');
    }
    this.backfillShipping();
    // Records a fallback directory took before the last stop go into the chain first.
    if (this.fallback) await this.fold().catch((err: Error) => this.logger.error({ err: err.message, fallback: this.fallback!.path }, 'audit: could not fold the fallback records back yet'));
    await this.applyRetention();
    this.retentionTimer = setInterval(() => void this.applyRetention().catch((err: Error) => this.logger.error({ err: err.message }, 'audit retention failed')), RETENTION_EVERY_MS);
    this.retentionTimer.unref();
    this.checkTimer = setInterval(() => void this.maintain(), this.checkIntervalMs);
    this.checkTimer.unref();
  }

  /**
   * Once per flush interval: a file deleted, truncated or replaced under the hub starts a new
   * segment whose first record names the break; records held in the fallback directory are folded
   * back; a log whose last write failed is probed with a record saying it works again. Never throws.
   */
  async maintain(): Promise<void> {
    if (this.maintaining) return;
    this.maintaining = true;
    try {
      const file = this.writer.currentFile;
      const noticed = this.writer.checkFile(this.pendingOf({ action: 'audit:break', resource: `audit file ${file}`, outcome: 'error', reason: 'the audit file being written was lost under the hub; the chain goes on in a new segment' }, 'Metadata'));
      if (noticed) {
        try {
          const rec = await noticed;
          this.faults?.failed(AUDIT_STORE, new LostFileError(`${this.files.dir}/${rec.break!.file}`, rec.break!.how));
          this.faults?.ok(AUDIT_STORE);
          this.logger.error({ break: rec.break, new_file: this.writer.currentFile }, `audit file ${rec.break!.file} was ${rec.break!.how} under the hub: ${rec.break!.lost_records} records lost; the chain goes on in a new segment that names the break`);
          for (const s of this.shippers) s.enqueue(rec);
        } catch (err) {
          this.faults?.failed(AUDIT_STORE, err);
        }
      }
      if (this.fallback && this.fallback.pending().length > 0) await this.fold();
      else if (this.writer.failing) {
        const since = this.faults?.degraded().find((f) => f.store === AUDIT_STORE)?.since;
        await this.commit(this.pendingOf({ action: 'audit:resume', resource: `audit dir ${this.files.dir}`, outcome: 'success', reason: `the audit log can be written again${since ? ` (writes failed since ${since})` : ''}` }, 'Metadata'));
      }
    } catch {
      // counted by commit(); tried again at the next check
    } finally {
      this.maintaining = false;
    }
  }

  /** Writes the fallback directory's records into the chain (skipping any a cut-short fold wrote), then empties it. */
  private async fold(): Promise<void> {
    const held = this.fallback!.pending();
    if (held.length === 0) return;
    const current = this.writer.currentFile;
    const present = new Set<string>();
    if (current) {
      for (const raw of this.files.read(current).split('\n')) {
        const m = /"id":"([^"]+)"/.exec(raw);
        if (m) present.add(m[1]);
      }
    }
    const foldedAt = new Date(this.now()).toISOString();
    const todo = held.filter((r) => !present.has(r.id));
    await Promise.all(todo.map((r) => this.commit({ ...r, fallback: { folded_at: foldedAt } })));
    this.fallback!.clear();
    this.fallbackLogged = false;
    this.logger.info({ records: todo.length, fallback: this.fallback!.path }, 'audit: folded the records the fallback directory took back into the chain');
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

  /** False after a failed write (and no fallback directory that works), until a write succeeds again: mutations are refused meanwhile. */
  get writable(): boolean {
    return !this.writer.failing || (this.fallback !== undefined && !this.fallback.failing);
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
    const level = levelFor(this.policy, event);
    if (level === 'None') return undefined;
    return this.write(this.pendingOf(event, level));
  }

  private pendingOf(event: AuditEvent, level: Exclude<AuditLevel, 'None'>): PendingRecord {
    return {
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
    };
  }

  /** Into the chain, or (it failing) the fallback directory: undefined then, the record has no place in the chain yet. */
  private async write(pending: PendingRecord): Promise<AuditRecord | undefined> {
    try {
      return await this.commit(pending);
    } catch (err) {
      if (this.fallback) {
        try {
          this.fallback.take(pending);
          this.faults?.ok(AUDIT_FALLBACK_STORE);
          if (!this.fallbackLogged) this.logger.warn({ fallback: this.fallback.path }, 'audit: records go to the fallback directory until the audit log can be written; they are folded back then');
          this.fallbackLogged = true;
          return undefined;
        } catch (fallbackErr) {
          this.faults?.failed(AUDIT_FALLBACK_STORE, fallbackErr);
        }
      }
      if (!this.failureLogged) this.logger.error({ err: (err as Error).message, dir: this.files.dir }, 'audit log write failed: changes are refused until it works again');
      this.failureLogged = true;
      throw new AuditWriteError();
    }
  }

  /** Into the chain; counted in the faults either way. */
  private async commit(pending: PendingRecord): Promise<AuditRecord> {
    let rec: AuditRecord;
    try {
      rec = await this.writer.write(pending);
    } catch (err) {
      this.faults?.failed(AUDIT_STORE, err);
      throw err;
    }
    this.faults?.ok(AUDIT_STORE);
    if (this.failureLogged) this.logger.info('audit log writes work again');
    this.failureLogged = false;
    this.recorded[rec.outcome]++;
    for (const s of this.shippers) s.enqueue(rec);
    return rec;
  }

  query(q: AuditQuery): { items: AuditRecord[]; next_cursor: string | null } {
    return queryAudit(this.files, q);
  }

  /** The records matching `q` after seq `q.cursor`, oldest first, unpaged (exports). */
  scan(q: Omit<AuditQuery, 'limit' | 'maxBytes'>): Generator<AuditRecord> {
    return scanAudit(this.files, q);
  }

  /**
   * The seq of the oldest record this hub still holds (its first file's anchor), or undefined with
   * no files: records below it were removed by retention (or lost), so an export cursor below it
   * would skip them (export/log-export.ts refuses it).
   */
  firstKeptSeq(): number | undefined {
    const first = this.files.list()[0];
    return first === undefined ? undefined : firstSeq(this.files, first) || undefined;
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
    const anchor = JSON.parse(this.files.firstLines(firstKept, 1)[0] ?? '') as AuditLine;
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
    clearInterval(this.checkTimer);
    await this.writer.drain();
    await Promise.all(this.shippers.map((s) => s.close()));
    await this.files.close();
  }
}

function sameFilesystem(a: string, b: string): boolean {
  try {
    mkdirSync(a, { recursive: true, mode: 0o700 });
    return statSync(a).dev === statSync(b).dev;
  } catch {
    return false;
  }
}
