import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_DOCS } from './docs.js';

const root = join(import.meta.dirname, '../..');

describe('generated documents', () => {
  for (const doc of GENERATED_DOCS) {
    it(`${doc.path} is current`, () => {
      const path = join(root, doc.path);
      const committed = existsSync(path) ? readFileSync(path, 'utf8') : '(missing)';
      expect(committed, `${doc.path} is not what its source says now: run npm run docs and commit it`).toBe(doc.render());
    });
  }
});
