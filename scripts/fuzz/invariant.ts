// The one property every fuzz target checks: bad input is an answer, not a crash
// (ARCHITECTURE.md invariant 6). A call returns a result or throws one of our typed errors
// (shared/errors); any other exception is rethrown and Jazzer reports it as a finding.
// Hangs are caught by libFuzzer's -timeout (main.ts), not here.
import { FleetError } from '../../shared/errors/index.js';

/** Runs `call`; a FleetError counts as a clean refusal, anything else escapes as a finding. */
export function answersOrRefuses<T>(call: () => T): T | FleetError {
  try {
    return call();
  } catch (err) {
    if (err instanceof FleetError) return err;
    throw err;
  }
}

/** The same for asynchronous calls. */
export async function answersOrRefusesAsync<T>(call: () => Promise<T>): Promise<T | FleetError> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof FleetError) return err;
    throw err;
  }
}

/** Splits one input into `parts` pieces at positions the input itself picks (its first bytes). */
export function splitInput(data: Buffer, parts: number): Buffer[] {
  const head = Math.min(parts - 1, data.length);
  let body = data.subarray(head);
  const out: Buffer[] = [];
  for (let i = 0; i < parts - 1; i++) {
    const at = i < head ? Math.min(body.length, data[i] % (body.length + 1)) : body.length;
    out.push(body.subarray(0, at));
    body = body.subarray(at);
  }
  out.push(body);
  return out;
}
