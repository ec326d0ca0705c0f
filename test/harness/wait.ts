// Waiting for a condition: what tests, benchmarks and chaos do between an action and its effect.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Set `aborted` to stop every waitFor given it at its next turn (chaos: a scenario out of time). */
export interface WaitAbort {
  aborted: boolean;
}

/**
 * Polls fn every everyMs until it returns a truthy value, which it resolves with; a throw counts
 * as "not yet" (its message is kept for the timeout error).
 */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 100,
  abort?: WaitAbort,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (abort?.aborted) throw new Error(`aborted while waiting for ${what}`);
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}
