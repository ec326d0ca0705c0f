// Pieces every renderer shares: the `{set, infinite, number}` objects of v0.0.39+, the `meta`
// block of each version, the response envelope and a streaming pretty-printer for big lists.
import type { SimEngine } from '../engine/index.js';
import type { VersionInfo } from './versions.js';

export interface NoVal {
  set: boolean;
  infinite: boolean;
  number: number;
}

export function num(n: number): NoVal {
  return { set: true, infinite: false, number: n };
}
export const UNSET: NoVal = Object.freeze({ set: false, infinite: false, number: 0 });
export const INFINITE: NoVal = Object.freeze({ set: false, infinite: true, number: 0 });

/** One request's view: the cluster, the version, and who asked (meta.client of v0.0.39+ echoes it). */
export interface RenderContext {
  engine: SimEngine;
  v: VersionInfo;
  user: string;
  clientSource: string;
  /** `user/account` → association id, for job records. */
  assocIds: Map<string, number>;
}

export function renderContext(engine: SimEngine, v: VersionInfo, user = 'root', clientSource = '127.0.0.1:6820(fd:12)'): RenderContext {
  const assocIds = new Map<string, number>();
  for (const a of engine.associations) if (a.user) assocIds.set(`${a.user}/${a.account}`, a.id);
  return { engine, v, user, clientSource, assocIds };
}

export type Plugin = 'slurmctld' | 'slurmdbd';

export function meta(ctx: RenderContext, plugin: Plugin): Record<string, unknown> {
  const { v } = ctx;
  if (v.n === 38) {
    return {
      plugin: plugin === 'slurmctld' ? { type: 'openapi/v0.0.38', name: 'Slurm OpenAPI v0.0.38' } : { type: 'openapi/dbv0.0.38', name: 'Slurm OpenAPI DB v0.0.38' },
      Slurm: { version: { major: Number(v.major), micro: Number(v.micro), minor: Number(v.minor) }, release: v.release },
    };
  }
  if (v.n === 39) {
    return {
      plugin:
        plugin === 'slurmctld'
          ? { type: 'openapi/v0.0.39', name: 'Slurm OpenAPI v0.0.39', data_parser: 'v0.0.39' }
          : { type: 'openapi/dbv0.0.39', name: 'Slurm OpenAPI DB v0.0.39', data_parser: 'v0.0.39' },
      client: { source: ctx.clientSource },
      Slurm: { version: { major: Number(v.major), micro: Number(v.micro), minor: Number(v.minor) }, release: v.release },
    };
  }
  return {
    plugin: {
      type: `openapi/${plugin}`,
      name: `Slurm OpenAPI ${plugin}`,
      data_parser: `data_parser/${v.version}`,
      accounting_storage: 'accounting_storage/slurmdbd',
    },
    client: { source: ctx.clientSource, user: plugin === 'slurmctld' ? ctx.user : '', group: plugin === 'slurmctld' ? ctx.user : '' },
    command: [],
    slurm: { version: { major: v.major, micro: v.micro, minor: v.minor }, release: v.release, cluster: ctx.engine.cluster },
  };
}

export interface SlurmErrorEntry {
  description?: string;
  error_number: number;
  error: string;
  source?: string;
}

/** An `errors[]` entry as each version prints it (v0.0.38: error + error_number only in 22.05's own errors). */
export function errorEntry(e: SlurmErrorEntry): Record<string, unknown> {
  return { description: e.description ?? '', error_number: e.error_number, error: e.error, source: e.source ?? '' };
}

/**
 * The response object with the version's key order: v0.0.38 `meta, errors, payload`; v0.0.39
 * `meta, errors, warnings, payload`; v0.0.40+ `payload, extras (last_update...), meta, errors, warnings`.
 */
export function envelope(
  ctx: RenderContext,
  plugin: Plugin,
  payload: Record<string, unknown>,
  opts: { errors?: SlurmErrorEntry[]; extras?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const errors = (opts.errors ?? []).map(errorEntry);
  if (ctx.v.n === 38) return { meta: meta(ctx, plugin), errors, ...payload };
  if (ctx.v.n === 39) return { meta: meta(ctx, plugin), errors, warnings: [], ...payload };
  return { ...payload, ...(opts.extras ?? {}), meta: meta(ctx, plugin), errors, warnings: [] };
}

const HOLE = '\u0000sim-list\u0000';
const HOLE_JSON = JSON.stringify(HOLE);
const BATCH = 256;
const BATCH_HEAD = '{\n  "x": [\n';
const BATCH_TAIL = '\n  ]\n}';

/**
 * Pretty-prints (2-space indent, like slurmrestd) an envelope whose `listKey` is produced item by
 * item, so a 100k-job answer never becomes one giant string. Items are stringified in batches
 * nested at the list's depth, so the text is byte-identical to JSON.stringify(whole, null, 2).
 */
export function* streamJson<T>(body: Record<string, unknown>, listKey: string, items: Iterable<T>, render: (item: T) => unknown): Generator<string> {
  const text = JSON.stringify({ ...body, [listKey]: HOLE }, null, 2);
  const at = text.indexOf(HOLE_JSON);
  const tail = text.slice(at + HOLE_JSON.length);
  let first = true;
  let batch: unknown[] = [];
  const flush = (): string => {
    const s = JSON.stringify({ x: batch }, null, 2);
    const inner = s.slice(BATCH_HEAD.length, s.length - BATCH_TAIL.length);
    const out = (first ? '[\n' : ',\n') + inner;
    first = false;
    batch = [];
    return out;
  };
  yield text.slice(0, at);
  for (const item of items) {
    batch.push(render(item));
    if (batch.length >= BATCH) yield flush();
  }
  if (batch.length > 0) yield flush();
  yield (first ? '[]' : '\n  ]') + tail;
}

export function pretty(body: unknown): string {
  return JSON.stringify(body, null, 2);
}
