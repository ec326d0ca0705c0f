// -o table|json|yaml. JSON and YAML print the API's objects unchanged (snake_case);
// tables pick a few columns.
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

export function parseFormat(value: string): OutputFormat {
  if (value === 'table' || value === 'json' || value === 'yaml') return value;
  throw new Error(`unknown output format "${value}": use table, json or yaml`);
}

export function render<T>(rows: T[] | T, format: OutputFormat, columns: Column<T>[]): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
  if (format === 'yaml') return stringify(rows).trimEnd();
  const list = Array.isArray(rows) ? rows : [rows];
  return table(list, columns);
}

export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]): string => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length ? value.join(',') : '-';
  return String(value);
}
