// POST /api/v2/alerts as Alertmanager's API v2 documents it (postableAlerts): an array of
// { labels, annotations?, startsAt?, endsAt?, generatorURL? }, labels required and non-empty,
// label names [a-zA-Z_][a-zA-Z0-9_]*, times RFC 3339, endsAt not before startsAt. Prometheus
// posts every firing alert again each resend interval with endsAt ahead, and once resolved
// with endsAt in the past; the alerts then take the same routes, silences and escalation.
import { BadRequestError } from '../../shared/errors/index.js';
import type { IntakeAlert } from './rules/index.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** One post: Prometheus batches up to its max_alerts_per_send (default 1000-ish). */
const MAX_ALERTS = 10_000;

function strings(what: string, i: number, value: unknown, names: boolean): Record<string, string> {
  if (value === undefined && what === 'annotations') return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRequestError(`alert ${i}: ${what} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new BadRequestError(`alert ${i}: ${what}.${k} must be a string`);
    if (names && !LABEL_NAME.test(k)) throw new BadRequestError(`alert ${i}: invalid label name "${k}"`);
    if (v.length > 4096) throw new BadRequestError(`alert ${i}: ${what}.${k} is longer than 4096 characters`);
    out[k] = v;
  }
  return out;
}

function time(what: string, i: number, value: unknown): number | undefined {
  // Alertmanager treats the zero time ("0001-01-01T00:00:00Z") as unset.
  if (value === undefined || value === null || value === '' || value === '0001-01-01T00:00:00Z') return undefined;
  const ms = typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw new BadRequestError(`alert ${i}: ${what} must be an RFC 3339 date-time, got ${JSON.stringify(value).slice(0, 64)}`);
  return ms;
}

export function parseIntake(body: unknown): IntakeAlert[] {
  if (!Array.isArray(body)) throw new BadRequestError('the body must be a JSON array of alerts (Alertmanager API v2 postableAlerts)');
  if (body.length > MAX_ALERTS) throw new BadRequestError(`at most ${MAX_ALERTS} alerts per post`);
  return body.map((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadRequestError(`alert ${i}: must be an object`);
    const a = raw as Record<string, unknown>;
    const labels = strings('labels', i, a.labels, true);
    if (Object.keys(labels).length === 0) throw new BadRequestError(`alert ${i}: at least one label pair required`);
    const annotations = strings('annotations', i, a.annotations, false);
    const startsAt = time('startsAt', i, a.startsAt);
    const endsAt = time('endsAt', i, a.endsAt);
    if (startsAt !== undefined && endsAt !== undefined && endsAt < startsAt) throw new BadRequestError(`alert ${i}: start time must be before end time`);
    if (a.generatorURL !== undefined && a.generatorURL !== '' && (typeof a.generatorURL !== 'string' || !URL.canParse(a.generatorURL))) throw new BadRequestError(`alert ${i}: generatorURL must be a URL`);
    return { labels, annotations, ...(startsAt !== undefined ? { startsAt } : {}), ...(endsAt !== undefined ? { endsAt } : {}), ...(typeof a.generatorURL === 'string' && a.generatorURL ? { generatorURL: a.generatorURL } : {}) };
  });
}
