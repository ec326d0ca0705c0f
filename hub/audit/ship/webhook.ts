// A webhook: one JSON POST per batch, {"records": [...]}, optionally signed with
// X-Sfleet-Signature: sha256=<hex HMAC-SHA256 of the body> so the receiver can check the sender.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { WebhookShipConfig } from '../config.js';
import type { AuditRecord } from '../record.js';
import { shippedFields, type ShippedRecord } from './fields.js';
import { post } from './http-post.js';
import { readSecret } from '../secrets.js';
import type { TlsPolicy } from '../../../shared/tls/index.js';
import { retryableStatus, RetryableError, type AuditSink, type SendResult } from './sink.js';

export class WebhookSink implements AuditSink {
  readonly name = 'webhook';
  private readonly secret?: string;
  private readonly ca?: Buffer;
  private readonly project: (record: AuditRecord) => ShippedRecord;

  constructor(
    private readonly config: WebhookShipConfig,
    private readonly timeoutMs: number,
    env: NodeJS.ProcessEnv = process.env,
    fields?: readonly string[],
    /** security.encryption.tls: the suites this client offers. */
    private readonly tls?: TlsPolicy,
  ) {
    this.project = shippedFields(fields);
    this.secret = readSecret('audit.ship.webhook secret', { env: config.secret_env, file: config.secret_file }, env);
    if (config.ca_file) this.ca = readFileSync(config.ca_file);
  }

  async send(records: AuditRecord[]): Promise<SendResult> {
    const body = JSON.stringify({ records: records.map(this.project) });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.secret) headers['x-sfleet-signature'] = `sha256=${createHmac('sha256', this.secret).update(body).digest('hex')}`;
    const res = await post(this.config.url, { headers, body, timeoutMs: this.timeoutMs, ca: this.ca, ...(this.tls ? { tls: this.tls } : {}) });
    if (retryableStatus(res.status)) throw new RetryableError(`webhook answered ${res.status}`);
    if (res.status < 200 || res.status >= 300) return { retry: [], rejected: records.length, reason: `webhook answered ${res.status}` };
    return { retry: [], rejected: 0 };
  }
}
