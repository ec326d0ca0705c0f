// Config files: YAML, ${ENV} interpolation, --set overrides, one zod schema per role.
// Every failure names the file, the line and the key, and the result is frozen.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors/index.js';

export interface LoadOptions {
  /** "a.b.c=value" pairs from repeated --set flags; values are parsed as YAML scalars. */
  overrides?: string[];
  env?: NodeJS.ProcessEnv;
}

type PathKey = string | number;

export function loadConfigFile<S extends z.ZodType>(schema: S, file: string | undefined, opts: LoadOptions = {}): Readonly<z.infer<S>> {
  const source = file ?? '(flags)';
  let text = '';
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${file}: cannot read config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return parseConfigText(schema, text, source, opts);
}

export function parseConfigText<S extends z.ZodType>(schema: S, text: string, source: string, opts: LoadOptions = {}): Readonly<z.infer<S>> {
  const { doc, lines, raw } = readYaml(text, source);
  const env = opts.env ?? process.env;
  const interpolated = interpolate(raw, [], env, (path) => where(source, doc, lines, path)) as Record<string, unknown>;
  for (const override of opts.overrides ?? []) applyOverride(interpolated, override);
  const result = schema.safeParse(interpolated);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(describeIssue(source, doc, lines, issue.path as PathKey[], issue.message));
  }
  return deepFreeze(result.data) as Readonly<z.infer<S>>;
}

export interface ValidateOptions extends LoadOptions {
  /** false: an unset ${VAR} is no error, and nothing is said about the keys that use one. */
  requireEnv?: boolean;
}

/**
 * Every problem of a config text at once, each as "file:line: key: message" (parseConfigText
 * stops at the first): what `sfleet config validate` prints before a deployment.
 */
export function validateConfigText(schema: z.ZodType, text: string, source: string, opts: ValidateOptions = {}): string[] {
  let parsed: ReturnType<typeof readYaml>;
  try {
    parsed = readYaml(text, source);
  } catch (err) {
    return [(err as Error).message];
  }
  const { doc, lines, raw } = parsed;
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const unset: PathKey[][] = [];
  const interpolated = interpolate(raw, [], env, (path) => where(source, doc, lines, path), (path, name, at) => {
    unset.push(path);
    if (opts.requireEnv !== false) problems.push(`${at}: ${path.join('.')}: environment variable ${name} is not set`);
    // A stand-in that most string fields accept; keys that use it are not judged below.
    return `unset-${name}`;
  }) as Record<string, unknown>;
  for (const override of opts.overrides ?? []) {
    try {
      applyOverride(interpolated, override);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const result = schema.safeParse(interpolated);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path as PathKey[];
      if (unset.some((p) => p.length <= path.length ? p.every((k, i) => path[i] === k) : path.every((k, i) => p[i] === k))) continue;
      problems.push(describeIssue(source, doc, lines, path, issue.message));
    }
  }
  return problems;
}

function readYaml(text: string, source: string): { doc: Document; lines: LineCounter; raw: Record<string, unknown> } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lines.linePos(e.pos[0]);
    throw new ConfigError(`${source}:${pos.line}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // Aliases fail only here, after a clean parse: one that names no earlier anchor, or too many
    // of them (yaml's guard against alias bombs). Found by the config-file fuzz target.
    throw new ConfigError(`${source}:${aliasLine(doc, lines)}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source}: the top level must be a mapping of keys`);
  }
  return { doc, lines, raw: raw as Record<string, unknown> };
}

/** The line of the first alias that resolves to nothing, else of the first alias. */
function aliasLine(doc: Document, lines: LineCounter): number {
  let first: number | undefined;
  let unresolved: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      const at = node.range ? lines.linePos(node.range[0]).line : undefined;
      first ??= at;
      if (node.resolve(doc) === undefined) {
        unresolved = at;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return unresolved ?? first ?? 1;
}

function describeIssue(source: string, doc: Document, lines: LineCounter, path: PathKey[], message: string): string {
  const key = path.length ? path.join('.') : '(top level)';
  return `${where(source, doc, lines, path)}: ${key}: ${message}`;
}

function where(source: string, doc: Document, lines: LineCounter, path: PathKey[]): string {
  // Walk up the path until a node with a position is found (a missing key has none).
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range && (isScalar(node) || isMap(node) || isSeq(node))) return `${source}:${lines.linePos(range[0]).line}`;
  }
  return source;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

type OnUnset = (path: PathKey[], name: string, at: string) => string;

function interpolate(value: unknown, path: PathKey[], env: NodeJS.ProcessEnv, at: (p: PathKey[]) => string, onUnset?: OnUnset): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      if (onUnset) return onUnset(path, name, at(path));
      throw new ConfigError(`${at(path)}: ${path.join('.')}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, [...path, i], env, at, onUnset));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, [...path, k], env, at, onUnset);
    return out;
  }
  return value;
}

function applyOverride(target: Record<string, unknown>, override: string): void {
  const eq = override.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${override}: expected key.path=value`);
  const keys = override.slice(0, eq).split('.');
  // Walking `__proto__` would write to Object.prototype; no config key is named so.
  const forbidden = keys.find((k) => k === '__proto__' || k === 'constructor' || k === 'prototype');
  if (forbidden) throw new ConfigError(`--set ${override.slice(0, eq)}: "${forbidden}" is not a config key`);
  const text = override.slice(eq + 1);
  let value: unknown = text;
  try {
    value = parseDocument(text).toJS();
  } catch {
    value = text;
  }
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
