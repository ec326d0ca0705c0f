// What every benchmark gets, and what it gives back. Waiting and sleeping come from the
// harness the tests share (test/harness).
import type { TlsFiles } from '../../../shared/tls/index.js';
import type { TestPki } from '../../../test/harness/index.js';

/** The run's throw-away CA (test/harness/pki.ts); agent-cost.js gets it as JSON, with one agent certificate. */
export type BenchPki = Pick<TestPki, 'dir' | 'ca' | 'hub' | 'client'> & { agent(cluster: string): Promise<TlsFiles> };

export interface Result {
  name: string;
  value: number;
  unit: string;
  quick: boolean;
}

/** A result plus what the table shows next to it (the file keeps only the four fields). */
export interface Measured extends Result {
  target?: string;
  met?: boolean;
  note?: string;
}

export interface BenchContext {
  quick: boolean;
  pki: BenchPki;
  /** A scratch directory for this run (data dirs, spools, profiles). */
  workDir: string;
  /** Write CPU profiles of measured children into workDir/profiles. */
  profile: boolean;
  log(line: string): void;
}

export function measured(ctx: BenchContext, name: string, value: number, unit: string, extra: Omit<Measured, keyof Result> = {}): Measured {
  return { name, value, unit, quick: ctx.quick, ...extra };
}

/**
 * A target the issue sets at full size (8,000 or 100,000 jobs, 1M jobs): a quick run measures a
 * smaller cluster, so it shows the target without judging it.
 */
export function fullSizeTarget(ctx: BenchContext, target: string, met: boolean): { target: string; met?: boolean } {
  return ctx.quick ? { target: `${target} at full size` } : { target, met };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
