// A chaos run's progress on stderr, and the abort switch: when a scenario runs out of time,
// every wait of it stops at its next turn.
import { waitFor as waitForCondition } from '../../test/harness/index.js';

const T0 = Date.now();

export function log(msg: string): void {
  process.stderr.write(`[chaos ${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
}

export const abort = { aborted: false };

/** The harness's waitFor, stopped by `abort`. */
export function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  return waitForCondition(what, fn, timeoutMs, everyMs, abort);
}
