// npm run docs: writes every generated document (docs/errors.md, docs/config.md) from its
// source (the error catalogue, the config schemas). Commit the result: a unit test fails when
// a committed document is not what this would write.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GENERATED_DOCS } from './docs.js';

/** The repository root: the nearest folder above this file with a package.json (from dist/ too). */
function repositoryRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above ' + import.meta.dirname);
    dir = up;
  }
  return dir;
}

const root = repositoryRoot();
for (const doc of GENERATED_DOCS) {
  const path = join(root, doc.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, doc.render());
  console.log(`wrote ${doc.path}`);
}
