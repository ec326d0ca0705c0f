// GDPR pseudonyms: HMAC-SHA256 of the user name under the site's key. The same name gives the
// same pseudonym under one key (exports can still be joined), and nobody without the key can
// go back from a pseudonym to the name or check a guess.
import { createHmac } from 'node:crypto';
import { readSecret } from '../audit/index.js';
import type { ComplianceConfig } from './config.js';
import { PseudonymKeyMissingError } from './errors.js';

/** Fields that hold a person's name in anything the hub exports. */
const NAME_FIELDS = new Set(['user', 'created_by', 'revoked_by', 'resolved_by', 'acked_by']);

export class Pseudonymizer {
  constructor(private readonly key: Buffer) {}

  name(user: string): string {
    return `u-${createHmac('sha256', this.key).update(user, 'utf8').digest('hex').slice(0, 20)}`;
  }

  /**
   * A copy of `value` with every name field pseudonymised, and the subject's name replaced
   * wherever it stands as a word in other text (a resource "token alice", a reason).
   */
  apply<T>(value: T, subject?: string): T {
    const word = subject ? new RegExp(`(?<![\\w.-])${subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!\\w)`, 'g') : undefined;
    const walk = (v: unknown, field?: string): unknown => {
      if (typeof v === 'string') {
        if (field && NAME_FIELDS.has(field) && v !== '') return this.name(v);
        return word ? v.replace(word, () => this.name(subject!)) : v;
      }
      if (Array.isArray(v)) return v.map((x) => walk(x, field));
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
      return v;
    };
    return walk(value) as T;
  }
}

/** The site's pseudonymizer, or undefined without gdpr and a key. Reads the key once (at start). */
export function pseudonymizerFrom(compliance: ComplianceConfig | undefined, env: NodeJS.ProcessEnv = process.env): Pseudonymizer | undefined {
  if (!compliance?.frameworks.includes('gdpr') || !compliance.gdpr) return undefined;
  const key = readSecret('compliance.gdpr pseudonym key', { env: compliance.gdpr.pseudonym_key_env, file: compliance.gdpr.pseudonym_key_file }, env);
  return key ? new Pseudonymizer(Buffer.from(key, 'utf8')) : undefined;
}

export function requirePseudonymizer(p: Pseudonymizer | undefined): Pseudonymizer {
  if (!p) throw new PseudonymKeyMissingError();
  return p;
}
