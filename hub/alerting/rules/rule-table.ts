// One row of the README's table of built-in rules (expression, for:, severity); the README test
// checks the table against the rules, so the documented defaults are the shipped ones.
import type { BuiltinRule } from './rule-context.js';

function duration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

export function ruleRow(name: string, rule: BuiltinRule): string {
  return `| \`${name}\` | ${rule.expression.replace(/\|/g, '\\|')} | ${duration(rule.defaults.for)} | ${rule.defaults.severity} |`;
}
