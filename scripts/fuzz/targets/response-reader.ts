// slurmrestd's HTTP/1.1 framing (agent/source/slurmrestd/response-reader.ts): any bytes, cut into
// reads where the input says, HEAD or not. It answers, waits for more, or throws
// SlurmResponseError; and the body it delivers is never longer than the bytes fed.
import { ResponseReader } from '../../../agent/source/slurmrestd/response-reader.js';
import { answersOrRefuses, splitInput } from '../invariant.js';

export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const noBody = (data[0] & 1) === 1;
  const reads = splitInput(data.subarray(1), 4);
  let delivered = 0;
  const reader = new ResponseReader('GET /fuzz', () => undefined, (chunk) => (delivered += chunk.length), noBody);
  answersOrRefuses(() => {
    for (const read of reads) if (reader.push(read)) break;
    reader.end();
  });
  if (delivered > data.length) throw new Error(`delivered ${delivered} body bytes from ${data.length} input bytes`);
}
