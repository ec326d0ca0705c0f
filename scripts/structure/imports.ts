// The repository's import graph as the code spells it: relative imports and re-exports of the
// TypeScript files under a folder (type-only ones included: two files whose types need each
// other cannot be read or moved apart either), tests and test data left out. Used by
// structure.test.ts to keep hub/ and agent/ free of import circles.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]/g;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'testdata' && entry.name !== 'node_modules') sourceFiles(path, out);
    } else if (entry.name.endsWith('.ts') && !/\.(test|shared-test|d)\.ts$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

/** file -> the files of the same folder tree it imports (paths relative to `root`'s parent). */
export function importGraph(root: string): Map<string, Set<string>> {
  const base = dirname(resolve(root));
  const files = new Set(sourceFiles(resolve(root)));
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const targets = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      let target = resolve(dirname(file), m[1]).replace(/\.js$/, '.ts');
      if (!files.has(target) && files.has(join(target, 'index.ts'))) target = join(target, 'index.ts');
      if (files.has(target)) targets.add(relative(base, target));
    }
    graph.set(relative(base, file), targets);
  }
  return graph;
}

/** The import circles: strongly connected groups of two or more files, or a file importing itself. */
export function importCircles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1 || graph.get(v)?.has(v)) circles.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return circles;
}
