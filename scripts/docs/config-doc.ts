// docs/config.md from the config schemas (zod): every key with its path, type, default and
// description, read from the schema itself (.describe(), and .meta() for what a schema cannot
// say: `format` of a field type such as duration, `defaultText` for a default that depends on
// the machine). A key without a description is listed by undescribedKeys(), which a test
// keeps empty.
import { z } from 'zod';

export interface ConfigKey {
  path: string;
  type: string;
  /** "required", "optional", or the default as written in a config file. */
  default: string;
  description: string;
}

interface Def {
  type: string;
  [k: string]: unknown;
}
type Schema = z.ZodType & { _zod: { def: Def; parent?: Schema } };

const def = (s: Schema): Def => s._zod.def;

/** Metadata of this schema or of the one it was derived from (.refine() and the like make a copy). */
function metaOf(s: Schema): Record<string, unknown> {
  for (let at: Schema | undefined = s; at; at = at._zod.parent) {
    const meta = z.globalRegistry.get(at);
    if (meta) return meta as Record<string, unknown>;
  }
  return {};
}

interface Unwrapped {
  inner: Schema;
  optional: boolean;
  defaultValue?: unknown;
  hasDefault: boolean;
  description?: string;
  defaultText?: string;
}

/** Peels optional / default / prefault / nullable layers, keeping the outermost description. */
function unwrap(s: Schema): Unwrapped {
  const out: Unwrapped = { inner: s, optional: false, hasDefault: false };
  for (;;) {
    const meta = metaOf(out.inner);
    out.description ??= meta.description as string | undefined;
    out.defaultText ??= meta.defaultText as string | undefined;
    const d = def(out.inner);
    if (d.type === 'optional') out.optional = true;
    else if (d.type === 'default' || d.type === 'prefault') {
      if (!out.hasDefault) out.defaultValue = d.defaultValue;
      out.hasDefault = true;
    } else if (d.type !== 'nullable' && d.type !== 'readonly') return out;
    out.inner = d.innerType as Schema;
  }
}

const UNITS: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];
const SIZES: [string, number][] = [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]];

function formatValue(value: unknown, format: string | undefined): string {
  if (typeof value === 'number' && format === 'duration') {
    const unit = UNITS.find(([, ms]) => value >= ms && value % ms === 0);
    return unit ? `${value / unit[1]}${unit[0]}` : `${value}ms`;
  }
  if (typeof value === 'number' && format === 'size') {
    const unit = SIZES.find(([, n]) => value >= n && value % n === 0);
    return unit ? `${value / unit[1]}${unit[0]}` : String(value);
  }
  return typeof value === 'string' && value !== '' ? value : JSON.stringify(value);
}

function numberType(s: Schema): string {
  let integer = false;
  let min: number | undefined;
  let max: number | undefined;
  for (const check of (def(s).checks ?? []) as Schema[]) {
    const c = def(check) as Def & { check?: string; format?: string; value?: number };
    if (c.check === 'number_format' && c.format?.includes('int')) integer = true;
    if (c.check === 'greater_than') min = c.value;
    if (c.check === 'less_than') max = c.value;
  }
  const range = min !== undefined && max !== undefined ? ` ${min}..${max}` : min !== undefined ? ` >= ${min}` : max !== undefined ? ` <= ${max}` : '';
  return `${integer ? 'integer' : 'number'}${range}`;
}

/** A field type's name from its metadata (duration, size...), through pipes to their input. */
function formatOf(s: Schema): string | undefined {
  const format = metaOf(s).format as string | undefined;
  return format ?? (def(s).type === 'pipe' ? formatOf(def(s).in as Schema) : undefined);
}

/** The type as a reader writes it in the file (the input side of transforms). */
function typeOf(s: Schema): string {
  const format = formatOf(s);
  if (format) return format;
  const d = def(s);
  switch (d.type) {
    case 'string':
    case 'boolean':
      return d.type;
    case 'number':
      return numberType(s);
    case 'enum':
      return Object.values(d.entries as Record<string, string>).map((v) => `"${v}"`).join(' \\| ');
    case 'literal':
      return (d.values as unknown[]).map((v) => JSON.stringify(v)).join(' \\| ');
    case 'object':
      return 'section';
    case 'array':
      return `list of ${typeOf(unwrap(d.element as Schema).inner)}`;
    case 'record':
      return `map of ${typeOf(unwrap(d.keyType as Schema).inner)} to ${typeOf(unwrap(d.valueType as Schema).inner)}`;
    case 'union':
      return [...new Set((d.options as Schema[]).map((o) => typeOf(unwrap(o).inner)))].join(' or ');
    case 'pipe':
      return typeOf(d.in as Schema);
    default:
      return d.type;
  }
}

/** The object schemas a value holds keys of: itself, a list's or map's elements, a union's variants. */
function sections(s: Schema, path: string): { path: string; schema: Schema; variant?: string }[] {
  const d = def(s);
  if (d.type === 'object') return [{ path, schema: s }];
  if (d.type === 'pipe') return sections(d.in as Schema, path);
  if (d.type === 'array') return sections(unwrap(d.element as Schema).inner, `${path}[]`);
  if (d.type === 'record') return sections(unwrap(d.valueType as Schema).inner, `${path}.<${typeOf(unwrap(d.keyType as Schema).inner) === 'string' ? 'name' : 'key'}>`);
  if (d.type === 'union') {
    const discriminator = d.discriminator as string | undefined;
    return (d.options as Schema[]).flatMap((o) => {
      const inner = unwrap(o).inner;
      const tag = discriminator ? (def(unwrap((def(inner).shape as Record<string, Schema>)[discriminator]).inner).values as unknown[])[0] : undefined;
      if (tag === undefined) return sections(inner, path);
      // providers[] with type totp reads providers[type=totp]
      return sections(inner, path.endsWith('[]') ? `${path.slice(0, -2)}[${discriminator}=${String(tag)}]` : `${path}(${discriminator}=${String(tag)})`);
    });
  }
  return [];
}

/** Every key under an object schema, depth first in the schema's order. */
export function configKeys(schema: z.ZodType, prefix = ''): ConfigKey[] {
  const out: ConfigKey[] = [];
  // A root schema with a transform (hub: scaling.shared_state -> redis) documents its input.
  let root = schema as Schema;
  while (def(root).type === 'pipe') root = (def(def(root).in as Schema).type === 'transform' ? def(root).out : def(root).in) as Schema;
  for (const [name, field] of Object.entries(def(root).shape as Record<string, Schema>)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const u = unwrap(field);
    const format = formatOf(u.inner);
    const type = typeOf(u.inner);
    const isSection = type === 'section';
    out.push({
      path,
      type: u.optional && isSection ? 'section, optional' : type,
      default: u.defaultText !== undefined ? `(${u.defaultText})` : (u.hasDefault && !isSection ? formatValue(u.defaultValue, format) : u.optional || u.hasDefault ? (isSection ? '' : 'optional') : 'required'),
      description: u.description ?? '',
    });
    for (const sub of sections(u.inner, path)) out.push(...configKeys(sub.schema, sub.path));
  }
  return out;
}

/** Keys without a description: each key of docs/config.md must say what it is for. */
export function undescribedKeys(schema: z.ZodType): string[] {
  return configKeys(schema).filter((k) => !k.description).map((k) => k.path);
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderConfigTable(schema: z.ZodType): string[] {
  const out = ['| Key | Type | Default | Description |', '| --- | --- | --- | --- |'];
  for (const k of configKeys(schema)) {
    // A default described in words (defaultText) comes in parentheses and is not code.
    const words = k.default === '' || k.default === 'required' || k.default === 'optional' || /^\(.*\)$/.test(k.default);
    const value = words ? cell(k.default) : `\`${cell(k.default)}\``;
    out.push(`| \`${k.path}\` | ${k.type} | ${value} | ${cell(k.description)} |`);
  }
  return out;
}
