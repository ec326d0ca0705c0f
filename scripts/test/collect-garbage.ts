// After each unit test file, a full garbage collection. A file handle a test forgot to close is
// then closed by the collector while the file's tests are still the ones vitest blames: Node 20
// only warns about that, newer Node (the one the binary embeds) throws. Without this the throw
// came whenever a later collection happened to run, in whichever file was running then.
import { afterAll } from 'vitest';

const gc = (globalThis as { gc?: () => void }).gc;

afterAll(async () => {
  if (!gc) return;
  gc();
  // The handle's close (and Node's complaint about it) comes a tick after the collection.
  await new Promise((resolve) => setImmediate(resolve));
});
