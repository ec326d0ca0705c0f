// The test side of the run directory (scripts/test/run-dir.ts): loggers for hubs and agents
// started in-process, and the registry of secrets the tests create, both read by the secrets
// scan after the run (scripts/test/scan-secrets.ts).
import { createWriteStream, readFileSync } from 'node:fs';
import { createLogger, type Logger } from '../../shared/logging/index.js';
import { processLogPath, registerSecret } from '../../scripts/test/run-dir.js';

export { registerAuditDir, registerSecret, processLogPath, testRunDir } from '../../scripts/test/run-dir.js';

/**
 * A logger for a hub or agent started in the test process: the production logger (with its
 * redaction), writing at debug level to its own file of the run directory instead of nowhere.
 */
export function testLogger(name: string): Logger {
  return createLogger({ name, level: process.env.SFLEET_TEST_LOG_LEVEL ?? 'debug', destination: createWriteStream(processLogPath(name), { flags: 'a' }) });
}

/** Registers every key of a file keyring (shared/crypto/file-key-provider.ts) as a secret. */
export function registerKeyring(file: string, what: string): void {
  const ring = JSON.parse(readFileSync(file, 'utf8')) as { key_id: string; keys: { version: number; key: string }[] };
  for (const k of ring.keys) registerSecret(k.key, `${what} ${ring.key_id} v${k.version}`);
}
