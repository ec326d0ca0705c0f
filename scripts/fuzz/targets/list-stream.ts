// The streamed /jobs and /nodes reader (agent/normalize/list-stream.ts, streamed-list.ts) with a
// version's adapter, as the agent polls: the body cut into reads where the input says, then
// finish() with a status. A job or node list, or SlurmResponseError; never another exception.
import { adapterFor, streamedList, SUPPORTED_VERSIONS } from '../../../agent/normalize/index.js';
import { answersOrRefuses, splitInput } from '../invariant.js';

const LIMITS = { maxElementBytes: 64 * 1024, maxOtherBytes: 64 * 1024 };
const STATUSES = [200, 200, 200, 500, 404, 401];

export function fuzz(data: Buffer): void {
  if (data.length < 2) return;
  const version = SUPPORTED_VERSIONS[data[0] % SUPPORTED_VERSIONS.length];
  const kind = (data[1] & 1) === 0 ? 'job' : 'node';
  const status = STATUSES[(data[1] >> 1) % STATUSES.length];
  const list = kind === 'job' ? streamedList(adapterFor(version), 'job', 'fuzz', LIMITS) : streamedList(adapterFor(version), 'node', 'fuzz', LIMITS);
  answersOrRefuses(() => {
    for (const read of splitInput(data.subarray(2), 3)) list.write(read);
    return list.finish(status);
  });
}
