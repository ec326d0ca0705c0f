// Elasticsearch / OpenSearch `_bulk`: NDJSON of an action line and a document per record,
// Content-Type application/x-ndjson, a trailing newline. The answer is 200 even when some
// items failed: `errors: true` and a per-item status; only the failed items are sent again.
// The record id is the document _id, so a retried item overwrites rather than duplicates.
import { readFileSync } from 'node:fs';
import type { ElasticsearchShipConfig } from '../config.js';
import type { AuditRecord } from '../record.js';
import { shippedFields, type ShippedRecord } from './fields.js';
import { post } from './http-post.js';
import { readSecret } from '../secrets.js';
import type { TlsPolicy } from '../../../shared/tls/index.js';
import { retryableStatus, RetryableError, type AuditSink, type SendResult } from './sink.js';

interface BulkItem {
  status?: number;
  error?: { type?: string; reason?: string };
}

export class ElasticsearchSink implements AuditSink {
  readonly name = 'elasticsearch';
  private readonly authorization?: string;
  private readonly ca?: Buffer;
  private readonly url: string;
  private readonly project: (record: AuditRecord) => ShippedRecord;

  constructor(
    private readonly config: ElasticsearchShipConfig,
    private readonly timeoutMs: number,
    env: NodeJS.ProcessEnv = process.env,
    fields?: readonly string[],
    /** security.encryption.tls: the suites this client offers. */
    private readonly tls?: TlsPolicy,
  ) {
    this.project = shippedFields(fields);
    this.url = `${config.url.replace(/\/+$/, '')}/_bulk`;
    const apiKey = readSecret('audit.ship.elasticsearch api key', { env: config.api_key_env, file: config.api_key_file }, env);
    const password = readSecret('audit.ship.elasticsearch password', { env: config.password_env, file: config.password_file }, env);
    if (apiKey) this.authorization = `ApiKey ${apiKey}`;
    else if (config.username && password) this.authorization = `Basic ${Buffer.from(`${config.username}:${password}`).toString('base64')}`;
    if (config.ca_file) this.ca = readFileSync(config.ca_file);
  }

  static body(index: string, records: AuditRecord[], project: (record: AuditRecord) => ShippedRecord = (r) => r): string {
    // @timestamp is the record's time even when timestamp is not a shipped field: Elasticsearch's time axis.
    return records.map((r) => `${JSON.stringify({ index: { _index: index, _id: r.id } })}\n${JSON.stringify({ '@timestamp': r.timestamp, ...project(r) })}\n`).join('');
  }

  async send(records: AuditRecord[]): Promise<SendResult> {
    const res = await post(this.url, {
      headers: { 'content-type': 'application/x-ndjson', accept: 'application/json', ...(this.authorization ? { authorization: this.authorization } : {}) },
      body: ElasticsearchSink.body(this.config.index, records, this.project),
      timeoutMs: this.timeoutMs,
      ca: this.ca,
      ...(this.tls ? { tls: this.tls } : {}),
    });
    if (retryableStatus(res.status)) throw new RetryableError(`bulk request answered ${res.status}`);
    if (res.status < 200 || res.status >= 300) {
      // Refused as a whole (401/403/400): retrying the same request would fail the same way.
      return { retry: [], rejected: records.length, reason: `bulk request answered ${res.status}` };
    }
    let answer: { errors?: boolean; items?: Record<string, BulkItem>[] };
    try {
      answer = JSON.parse(res.body) as typeof answer;
    } catch {
      throw new RetryableError('bulk answer is not JSON');
    }
    if (!answer.errors) return { retry: [], rejected: 0 };
    if (!Array.isArray(answer.items) || answer.items.length !== records.length) throw new RetryableError('bulk answer has errors but no matching items');
    const retry: AuditRecord[] = [];
    let rejected = 0;
    let reason: string | undefined;
    answer.items.forEach((item, i) => {
      const result = Object.values(item)[0] ?? {};
      const status = result.status ?? 0;
      if (status >= 200 && status < 300) return;
      if (retryableStatus(status)) retry.push(records[i]);
      else {
        rejected++;
        reason ??= `item refused with ${status}: ${result.error?.type ?? 'error'}`;
      }
    });
    return { retry, rejected, reason };
  }
}
