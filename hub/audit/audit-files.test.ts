import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeAuditFiles } from './audit-files.js';

function filesWith(text: string): NodeAuditFiles {
  const dir = mkdtempSync(join(tmpdir(), 'audit-files-'));
  writeFileSync(join(dir, 'audit-20261207-0001.jsonl'), text);
  return new NodeAuditFiles(dir);
}

const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

describe('audit files are read a chunk at a time', () => {
  it('gives the same lines as reading the whole file, across chunk boundaries and split characters', () => {
    // Lines of varying length with a three-byte character that lands on the 1 MiB boundaries.
    const lines = Array.from({ length: 40_000 }, (_, i) => `{"seq":${i},"user":"${'é€'.repeat(i % 37)}"}`);
    const text = lines.join('\n') + '\n';
    expect(Buffer.byteLength(text)).toBeGreaterThan(3 << 20);
    const files = filesWith(text);
    expect([...files.lines('audit-20261207-0001.jsonl')]).toEqual(lines);
    expect(files.firstLines('audit-20261207-0001.jsonl', 2)).toEqual(lines.slice(0, 2));
  });

  it('a last line without its newline is given too (a torn write shows as what it is)', () => {
    const files = filesWith('{"a":1}\n{"b":');
    expect([...files.lines('audit-20261207-0001.jsonl')]).toEqual(['{"a":1}', '{"b":']);
    expect(files.firstLines('audit-20261207-0001.jsonl', 5)).toEqual(['{"a":1}', '{"b":']);
  });

  it('a reader that stops early holds no descriptor', () => {
    const files = filesWith(Array.from({ length: 200_000 }, (_, i) => `{"seq":${i}}`).join('\n') + '\n');
    const before = openDescriptors();
    const it = files.lines('audit-20261207-0001.jsonl');
    it.next();
    it.next(); // abandoned, never returned
    expect(openDescriptors()).toBe(before);
  });
});
