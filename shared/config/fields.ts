// Field types shared by the hub and agent schemas.
import { Cron } from 'croner';
import { z } from 'zod';
import { parseDuration } from '../model/time.js';

/** "10s", "5m", "250ms" or seconds as a number; yields milliseconds. */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
}).meta({ format: 'duration' });

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3 };

/** "256MiB", "1GiB" or bytes as a number. */
export const byteSize = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(v.trim());
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid size "${v}" (use e.g. 256MiB, 1GiB)` });
    return z.NEVER;
  }
  return Math.floor(Number(m[1]) * unit);
}).meta({ format: 'size' });

/** "host:port" with a port in range. */
export const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port').meta({ format: 'host:port' });

export const tlsFiles = z
  .object({
    ca: z.string().min(1).describe('PEM file: the CA that the other side\'s certificate must chain to.'),
    cert: z.string().min(1).describe('PEM file: this side\'s certificate (chain).'),
    key: z.string().min(1).describe('PEM file: the private key of cert.'),
  })
  .strict();

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('The least level written to the log.');

/** A cron expression as croner reads it (5 fields, or 6 with seconds first). */
export const cronExpression = z.string().refine((v) => {
  try {
    new Cron(v, { paused: true });
    return true;
  } catch {
    return false;
  }
}, 'not a cron expression (minute hour day-of-month month day-of-week, e.g. "0 2 * * *")');

/** An IANA time zone name. */
export const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'not an IANA time zone (e.g. Europe/Berlin)');
