import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';
import { configKeys, undescribedKeys } from './config-doc.js';
import { CONFIG_SCHEMAS } from './config-md.js';

describe('docs/config.md', () => {
  for (const [name, schema] of Object.entries(CONFIG_SCHEMAS)) {
    it(`describes every key of the ${name} config (add .describe() where a key is listed)`, () => {
      expect(undescribedKeys(schema)).toEqual([]);
    });
  }

  it('reads path, type, default and description from the schema', () => {
    const schema = z.object({
      a: z.object({ t: duration.refine((ms) => ms > 0).default(90_000).describe('wait') }).strict().describe('a section'),
      n: z.number().int().min(1).max(9).optional().describe('count'),
      r: z.string().describe('needed'),
      l: z.array(z.object({ k: z.enum(['x', 'y']).default('x').describe('kind') })).default([]).describe('list'),
    });
    expect(configKeys(schema)).toEqual([
      { path: 'a', type: 'section', default: 'required', description: 'a section' },
      { path: 'a.t', type: 'duration', default: '90s', description: 'wait' },
      { path: 'n', type: 'integer 1..9', default: 'optional', description: 'count' },
      { path: 'r', type: 'string', default: 'required', description: 'needed' },
      { path: 'l', type: 'list of section', default: '[]', description: 'list' },
      { path: 'l[].k', type: '"x" \\| "y"', default: 'x', description: 'kind' },
    ]);
  });
});
