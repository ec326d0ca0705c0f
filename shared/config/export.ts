// `sfleet config export`: the effective configuration (defaults filled in) as a YAML file that
// loads back to the same thing. Durations and sizes are written as the text a person writes
// ("30s", "256MiB"): the schema accepts a bare number as seconds or bytes, not as the
// milliseconds it stores. Secrets never leave: a value that came from ${VAR} is written as that
// reference, and any other value under a secret-looking key as "<redacted>".
import { stringify } from 'yaml';
import { z } from 'zod';

interface Def {
  type: string;
  [k: string]: unknown;
}
type Schema = z.ZodType & { _zod: { def: Def; parent?: Schema } };

/** A key whose value is a secret: export masks it, `deploy render` refuses a literal one. */
export const SECRET_KEY = /(^|_)(password|passwd|secret|token|passphrase|credentials?|api_key|integration_key|webhook|private_key|signing_key|hmac_key|pin)$/i;
/** A ${VAR} or ${VAR:-default} reference, as the loader interpolates it. */
export const ENV_REF = /\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}/;

function formatOf(s: Schema): string | undefined {
  for (let at: Schema | undefined = s; at; at = at._zod.parent) {
    const format = (z.globalRegistry.get(at) as { format?: unknown } | undefined)?.format;
    if (typeof format === 'string') return format;
  }
  return undefined;
}

/** The schema that describes the stored value: through optional/default/pipe layers. */
function settle(s: Schema): Schema {
  for (let at = s; ; ) {
    const d = at._zod.def;
    if (formatOf(at)) return at;
    if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(d.type)) at = d.innerType as Schema;
    else if (d.type === 'pipe') at = (d.out as Schema)._zod.def.type === 'transform' ? (d.in as Schema) : (d.out as Schema);
    else return at;
  }
}

const UNITS: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];
const SIZES: [string, number][] = [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]];

function asText(value: number, units: [string, number][], base: string): string {
  const unit = units.find(([, n]) => value >= n && value % n === 0);
  return unit ? `${value / unit[1]}${unit[0]}` : `${value}${base}`;
}

function exported(schema: Schema | undefined, value: unknown, raw: unknown, key: string): unknown {
  if (typeof raw === 'string' && ENV_REF.test(raw)) return raw;
  const s = schema ? settle(schema) : undefined;
  const format = s ? formatOf(s) : undefined;
  if (typeof value === 'number' && format === 'duration') return asText(value, UNITS, 'ms');
  if (typeof value === 'number' && format === 'size') return asText(value, SIZES, '');
  if (typeof value === 'string' && value !== '' && SECRET_KEY.test(key)) return '<redacted>';
  if (Array.isArray(value)) {
    const element = s?._zod.def.type === 'array' ? (s._zod.def.element as Schema) : undefined;
    return value.map((v, i) => exported(element, v, Array.isArray(raw) ? raw[i] : undefined, key));
  }
  if (value && typeof value === 'object') {
    const d = s?._zod.def;
    const shape = d?.type === 'object' ? (d.shape as Record<string, Schema>) : undefined;
    const valueType = d?.type === 'record' ? (d.valueType as Schema) : undefined;
    const rawObject = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      out[k] = exported(shape?.[k] ?? valueType, v, rawObject[k], k);
    }
    return out;
  }
  return value;
}

/**
 * YAML of `value` (a config parsed with `schema`); `raw` is the file as written (before ${VAR}
 * interpolation), so that references are kept as references.
 */
export function exportConfig(schema: z.ZodType, value: unknown, raw: unknown): string {
  return stringify(exported(schema as Schema, value, raw, ''), { lineWidth: 0 });
}
