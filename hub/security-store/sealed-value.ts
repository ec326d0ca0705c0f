// One value of the shared store sealed the way the data directory's files are (shared/crypto):
// an envelope header with its wrapped data key, then one AES-256-GCM record. With encryption
// off the JSON is stored as is. The purpose is bound into the record: a value copied under
// another kind fails to open.
import { AtRest } from '../../shared/crypto/index.js';
import { frame, isSealed, readRecords } from '../../shared/record-log/index.js';
import { PREFIX_BYTES } from '../../shared/crypto/index.js';

export class ValueSealer {
  constructor(private readonly atRest: AtRest = AtRest.plaintext()) {}

  seal(name: string, purpose: string, value: unknown): Buffer {
    const data = Buffer.from(JSON.stringify(value));
    const sealing = this.atRest.sealing(purpose);
    if (!sealing) return data;
    const file = sealing.create(`etcd:${name}`);
    return Buffer.concat([file.prefix, frame([file.seal(data, 0)])]);
  }

  open<T>(name: string, purpose: string, blob: Buffer): T {
    if (!isSealed(blob)) return JSON.parse(blob.toString('utf8')) as T;
    const sealing = this.atRest.sealing(purpose);
    if (!sealing) throw new Error(`etcd:${name}: the value is sealed and this hub has no encryption section`);
    const file = sealing.open(`etcd:${name}`, blob);
    const { records } = readRecords(blob, PREFIX_BYTES);
    if (records.length !== 1) throw new Error(`etcd:${name}: sealed value is truncated`);
    return JSON.parse(Buffer.from(file.open(records[0], 0)).toString('utf8')) as T;
  }
}
