// pino with redaction: secrets (tokens, keys, passwords, auth headers) never reach a log.
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export const REDACT_PATHS = [
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'client_secret',
  '*.client_secret',
  'key',
  '*.key',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["x-slurm-user-token"]',
  '*.headers["x-slurm-user-token"]',
  'req.headers.authorization',
  'slurm.auth.token',
];

export function createLogger(opts: { name: string; level?: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.SFLEET_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (opts.destination ?? process.stderr) as pino.DestinationStream,
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
