// Faults the simulator injects on demand into its slurmrestd endpoints (never into /sim/v1/*, so a
// test can always clear them): latency, error answers, truncated bodies, dropped connections.
import { Prng } from '../engine/index.js';

export interface FaultSpec {
  /** Delay before answering, in ms (0..120000). */
  latency_ms?: number;
  /** Share of requests answered with `status` (0..1). Default 1 when only `status` is given. */
  error_rate?: number;
  /** HTTP status of an injected error (400..599), default 500. */
  status?: number;
  /** Send part of the body, then cut the connection. */
  truncate?: boolean;
  /** Drop every connection without an answer, as if slurmrestd were gone. */
  down?: boolean;
}

const KEYS = new Set(['latency_ms', 'error_rate', 'status', 'truncate', 'down']);

/** Checks a fault document strictly; returns the spec or a message naming the bad key. */
export function parseFaults(input: unknown): { ok: true; faults: FaultSpec } | { ok: false; message: string } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { ok: false, message: 'faults must be a JSON object' };
  const out: FaultSpec = {};
  for (const [key, value] of Object.entries(input)) {
    if (!KEYS.has(key)) return { ok: false, message: `unknown fault "${key}" (known: ${[...KEYS].join(', ')})` };
    switch (key) {
      case 'latency_ms':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 120_000) return { ok: false, message: 'latency_ms must be a number from 0 to 120000' };
        out.latency_ms = value;
        break;
      case 'error_rate':
        if (typeof value !== 'number' || !(value >= 0 && value <= 1)) return { ok: false, message: 'error_rate must be a number from 0 to 1' };
        out.error_rate = value;
        break;
      case 'status':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 400 || value > 599) return { ok: false, message: 'status must be an HTTP error status from 400 to 599' };
        out.status = value;
        break;
      case 'truncate':
      case 'down':
        if (typeof value !== 'boolean') return { ok: false, message: `${key} must be true or false` };
        out[key] = value;
        break;
    }
  }
  return { ok: true, faults: out };
}

export interface FaultDecision {
  drop: boolean;
  latencyMs: number;
  /** HTTP status to answer with instead of the real answer, or 0. */
  errorStatus: number;
  truncate: boolean;
}

/** The current faults; `decide()` draws from a seeded PRNG so a test run is repeatable. */
export class Faults {
  private spec: FaultSpec = {};
  private readonly rng: Prng;

  constructor(seed: number, initial: FaultSpec = {}) {
    this.rng = new Prng(seed ^ 0x5eed);
    this.set(initial);
  }

  get current(): FaultSpec {
    return { ...this.spec };
  }

  set(spec: FaultSpec): void {
    this.spec = { ...spec };
  }

  clear(): void {
    this.spec = {};
  }

  decide(): FaultDecision {
    const s = this.spec;
    const rate = s.error_rate ?? (s.status !== undefined ? 1 : 0);
    const error = rate > 0 && this.rng.next() < rate;
    return {
      drop: s.down === true,
      latencyMs: s.latency_ms ?? 0,
      errorStatus: error ? (s.status ?? 500) : 0,
      truncate: s.truncate === true,
    };
  }
}
