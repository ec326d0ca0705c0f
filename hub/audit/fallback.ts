// audit.fallback_dir: while the audit directory cannot be written (a full or read-only disk), a
// record may be taken here instead (another filesystem), durable before the action goes on, so
// changes need not be refused. Once the chain can be written again the records are folded back
// into it, in order, with their ids and times (and `fallback.taken_at`), then this file goes.
// Records carry their id: a fold cut short by a crash is finished at the next start without
// writing a record twice.
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { syncDir } from './audit-files.js';
import type { PendingRecord } from './chain-writer.js';

export class AuditFallback {
  readonly path: string;
  /** The last write here failed: it is not offered until one works again. */
  failing = false;

  constructor(readonly dir: string, hubId: string) {
    this.path = join(dir, `audit-fallback-${hubId.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`);
  }

  /** Appends the record and makes it durable (fdatasync; the directory entry of a new file too). */
  take(rec: PendingRecord): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const created = !existsSync(this.path);
      const fd = openSync(this.path, 'a', 0o600);
      const size = fstatSync(fd).size;
      try {
        const data = Buffer.from(`${JSON.stringify(rec)}\n`);
        let written = 0;
        while (written < data.length) written += writeSync(fd, data, written);
        fdatasyncSync(fd);
      } catch (err) {
        // Cut the part that reached the file, so the next record starts on a line of its own.
        try {
          ftruncateSync(fd, size);
        } catch {
          // the next fold skips a line that does not parse
        }
        throw err;
      } finally {
        closeSync(fd);
      }
      if (created) syncDir(this.dir);
      this.failing = false;
    } catch (err) {
      this.failing = true;
      throw err;
    }
  }

  /** The records held here, oldest first (a torn last line, never acknowledged, is left out). */
  pending(): PendingRecord[] {
    if (!existsSync(this.path)) return [];
    const lines = readFileSync(this.path, 'utf8').split('\n');
    lines.pop();
    const out: PendingRecord[] = [];
    for (const line of lines) {
      try {
        out.push(JSON.parse(line) as PendingRecord);
      } catch {
        // a torn line: its write failed, so its action was refused
      }
    }
    return out;
  }

  /** After the fold: the records are in the chain. */
  clear(): void {
    rmSync(this.path, { force: true });
    syncDir(this.dir);
  }
}
