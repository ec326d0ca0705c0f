// Watches a few files for changes: fs.watch on their directories (a file replaced by rename,
// as editors and cert-manager do, keeps being seen) and a stat poll as the fallback for
// file systems where fs.watch says nothing (NFS, some containers). Bursts are debounced.
import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface FileWatchOptions {
  debounceMs?: number;
  pollMs?: number;
}

export function watchFiles(paths: string[], onChange: () => void, opts: FileWatchOptions = {}): () => void {
  const debounceMs = opts.debounceMs ?? 250;
  const pollMs = opts.pollMs ?? 2_000;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!closed) onChange();
    }, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  const byDir = new Map<string, Set<string>>();
  for (const path of paths) {
    const names = byDir.get(dirname(path)) ?? new Set<string>();
    names.add(basename(path));
    byDir.set(dirname(path), names);
  }
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        if (!name || names.has(basename(name.toString()))) fire();
      });
      w.on('error', () => {}); // the poll still covers it
      watchers.push(w);
    } catch {
      // No inotify here (or the directory is gone): the poll covers it.
    }
  }
  const listener = (curr: { mtimeMs: number; ino: number; size: number }, prev: { mtimeMs: number; ino: number; size: number }): void => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino || curr.size !== prev.size) fire();
  };
  for (const path of paths) watchFile(path, { interval: pollMs, persistent: false }, listener);
  return () => {
    closed = true;
    clearTimeout(timer);
    for (const w of watchers) w.close();
    for (const path of paths) unwatchFile(path, listener);
  };
}
