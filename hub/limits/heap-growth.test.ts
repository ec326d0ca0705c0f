import { describe, expect, it } from 'vitest';
import { limitsConfigSchema } from './config.js';

describe('limits: the heap footprint', () => {
  it("V8's --optimize-for-size is off unless limits.heap_optimize_for_size is true", () => {
    expect(limitsConfigSchema.parse({}).heap_optimize_for_size).toBe(false);
    expect(limitsConfigSchema.parse({ heap_optimize_for_size: true }).heap_optimize_for_size).toBe(true);
    expect(limitsConfigSchema.safeParse({ heap_optimize_for_size: 'yes' }).error?.issues.map((i) => i.path.join('.'))).toEqual(['heap_optimize_for_size']);
  });
});
