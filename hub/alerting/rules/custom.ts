// Rules of one's own: a filtrex expression (its own small grammar compiled by the library; no
// JavaScript reaches it, no eval of config text) over the figures of one cluster or partition.
// Checked at load: a parse error or a name that is not a figure is a config error.
import { compileExpression } from 'filtrex';
import type { ClusterFacts } from './fleet-facts.js';

/** The figures an expression may use, per scope (partition adds its own; cluster ones stay). */
export const FIGURES = [
  'connected',
  'nodes_total',
  'nodes_down',
  'nodes_drained',
  'nodes_idle',
  'nodes_maintenance',
  'down_share',
  'jobs_pending',
  'jobs_startable',
  'jobs_running',
  'jobs_failed_window',
  'minutes_since_last_start',
] as const;
type Figures = Record<(typeof FIGURES)[number], number>;

const SAMPLE: Figures = Object.fromEntries(FIGURES.map((f) => [f, 1])) as Figures;

export function checkExpression(expr: string): string | undefined {
  let fn: (o: object) => unknown;
  try {
    fn = compileExpression(expr);
  } catch (err) {
    return `cannot parse expression: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`;
  }
  const out = fn(SAMPLE);
  if (out instanceof Error) return `${out.message.replace(/[\u201C\u201D]/g, '"')}; known figures: ${FIGURES.join(', ')}`;
  return undefined;
}

export type CompiledExpression = (figures: Figures) => boolean;

export function compile(expr: string): CompiledExpression {
  const fn = compileExpression(expr);
  return (figures) => {
    const out = fn(figures);
    return !(out instanceof Error) && Boolean(out);
  };
}

export function clusterFigures(c: ClusterFacts, now: number): Figures {
  const down = c.downNodes.length;
  const drained = c.partitions.length ? Math.max(...c.partitions.map((p) => p.drained)) : 0;
  const counted = c.nodesTotal - c.maintenance.size;
  return {
    connected: c.connected ? 1 : 0,
    nodes_total: counted,
    nodes_down: down,
    nodes_drained: drained,
    nodes_idle: c.idleNodes,
    nodes_maintenance: c.maintenance.size,
    down_share: counted > 0 ? down / counted : 0,
    jobs_pending: c.jobsPending,
    jobs_startable: c.jobsStartable,
    jobs_running: c.jobsRunning,
    jobs_failed_window: c.jobsFailedWindow,
    minutes_since_last_start: c.lastStartMs ? (now - c.lastStartMs) / 60_000 : 1e9,
  };
}

export function partitionFigures(c: ClusterFacts, p: ClusterFacts['partitions'][number], now: number): Figures {
  return { ...clusterFigures(c, now), nodes_total: p.total, nodes_down: p.down, nodes_drained: p.drained, down_share: p.total > 0 ? (p.down + p.drained) / p.total : 0 };
}
