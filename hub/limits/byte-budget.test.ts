import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget.js';

describe('in-flight byte budget', () => {
  it('reserves up to its total, refuses beyond with 503 SF_API_BUSY, and a release (once) makes room again', () => {
    const budget = new ByteBudget(100);
    const a = budget.take(60);
    const b = budget.take(40);
    expect(budget.inUse).toBe(100);
    expect(() => budget.take(1)).toThrow(expect.objectContaining({ code: 'SF_API_BUSY', httpStatus: 503 }));
    expect(budget.refused).toBe(1);
    a();
    a();
    expect(budget.inUse).toBe(40);
    const c = budget.take(60);
    expect(() => budget.take(1)).toThrow(/try again/);
    b();
    c();
    expect(budget.inUse).toBe(0);
    expect(budget.take(0)).toBeTypeOf('function');
    expect(budget.inUse).toBe(0);
  });
});
