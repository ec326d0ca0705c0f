import { appendFileSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Table } from './crc32.js';
import { RecordLog } from './record-log.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('RecordLog', () => {
  it('reads back what was appended, in order, after reopening', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rl-')), 'log');
    const { log } = RecordLog.open(path);
    log.append(enc('one'), enc('two'));
    log.append(enc('three'));
    log.close();
    const again = RecordLog.open(path);
    expect(again.records.map(dec)).toEqual(['one', 'two', 'three']);
    expect(again.truncatedBytes).toBe(0);
    again.log.close();
  });

  it('cuts a torn last record (crash mid-write) and keeps every whole one', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rl-')), 'log');
    const { log } = RecordLog.open(path);
    log.append(enc('kept'), enc('torn-record'));
    log.close();
    const size = readFileSync(path).length;
    truncateSync(path, size - 4);
    const again = RecordLog.open(path);
    expect(again.records.map(dec)).toEqual(['kept']);
    expect(again.truncatedBytes).toBeGreaterThan(0);
    // New appends land after the last whole record.
    again.log.append(enc('next'));
    again.log.close();
    expect(RecordLog.open(path).records.map(dec)).toEqual(['kept', 'next']);
  });

  it('stops at a corrupted record instead of returning garbage', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rl-')), 'log');
    const { log } = RecordLog.open(path);
    log.append(enc('good'), enc('flipped'));
    log.close();
    const data = readFileSync(path);
    data[data.length - 2] ^= 0xff;
    writeFileSync(path, data);
    appendFileSync(path, Buffer.from([1, 2, 3]));
    expect(RecordLog.open(path).records.map(dec)).toEqual(['good']);
  });

  it('rewrite replaces the content atomically', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rl-')), 'log');
    const { log } = RecordLog.open(path);
    log.append(enc('a'), enc('b'));
    log.rewrite([enc('c')]);
    log.append(enc('d'));
    log.close();
    expect(RecordLog.open(path).records.map(dec)).toEqual(['c', 'd']);
  });
  it('writes a batch of more records than one writev takes, byte for byte as framed', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rl-')), 'log');
    const { log } = RecordLog.open(path);
    const bodies = Array.from({ length: 2500 }, (_, i) => enc(`record ${i} ${'x'.repeat(i % 37)}`));
    log.append(...bodies);
    expect(log.bytes).toBe(bodies.reduce((n, b) => n + 8 + b.length, 0));
    log.close();
    const again = RecordLog.open(path);
    expect(again.records.map(dec)).toEqual(bodies.map(dec));
    const file = readFileSync(path);
    expect(file.readUInt32LE(0)).toBe(bodies[0].length);
    expect(file.readUInt32LE(4)).toBe(crc32Table(bodies[0]));
    again.log.close();
  });

  it('computes the same CRC-32 natively and with the table', () => {
    for (const text of ['', 'a', '123456789', 'x'.repeat(100_000)]) expect(crc32(enc(text))).toBe(crc32Table(enc(text)));
    expect(crc32Table(enc('123456789'))).toBe(0xcbf43926);
  });
  it('appendDurable keeps order with append, and rewrite/close wait for running fsyncs', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rl-')), 'log');
    const { log } = RecordLog.open(path);
    const first = log.appendDurable(enc('a'), enc('b'));
    log.append(enc('c'));
    const second = log.appendDurable(enc('d'));
    log.rewrite([enc('kept')]);
    const third = log.appendDurable(enc('e'));
    log.close();
    await Promise.all([first, second, third]);
    const again = RecordLog.open(path);
    expect(again.records.map(dec)).toEqual(['kept', 'e']);
    again.log.close();
  });
});
