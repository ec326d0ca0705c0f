// The run directory of one test run (SFLEET_TEST_LOG_DIR): every hub, agent and CLI process the
// integration tests and the chaos scenarios start writes its log there, and every secret they
// create is registered there, so scan-secrets.ts can check after the run that no secret reached
// a log or an audit record. Shared by test/harness and scripts/chaos (compiled with the rest).
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const SECRETS_FILE = 'secrets.jsonl';
export const AUDIT_DIRS_FILE = 'audit-dirs.txt';
export const LOGS_DIR = 'logs';

/**
 * SFLEET_TEST_LOG_DIR, else one directory per vitest run: the workers of one run share their
 * parent process (scripts/test/run.sh always sets the variable).
 */
export function testRunDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.SFLEET_TEST_LOG_DIR || path.join('/tmp/sfleet-test-logs', `run-${process.ppid}`);
  mkdirSync(path.join(dir, LOGS_DIR), { recursive: true, mode: 0o700 });
  return dir;
}

let sequence = 0;

/** A fresh log file path for one process, named after what it is (one file per process). */
export function processLogPath(label: string): string {
  const safe = label.replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]+/g, '_').slice(-120);
  return path.join(testRunDir(), LOGS_DIR, `${safe}.${process.pid}-${++sequence}.log`);
}

/** Remembers a secret a test created (a token, a password, a key) for the scan after the run. */
export function registerSecret(value: string, what: string): void {
  if (!value) return;
  appendFileSync(path.join(testRunDir(), SECRETS_FILE), `${JSON.stringify({ what, value })}\n`, { mode: 0o600 });
}

/** An audit directory of a hub: the scan reads its records where they are. */
export function registerAuditDir(dir: string): void {
  appendFileSync(path.join(testRunDir(), AUDIT_DIRS_FILE), `${path.resolve(dir)}\n`);
}

/**
 * For a run that deletes its own directory afterwards (chaos): copies the *.log files and the
 * audit directories under dir into the run directory first (no *.log below a data or spool
 * directory: those are write-ahead logs, not process logs).
 */
export function keepForScan(dir: string, label: string): void {
  if (!existsSync(dir)) return;
  const runDir = testRunDir();
  const name = (p: string): string => `${label}_${path.relative(dir, p)}`.replace(/[^A-Za-z0-9._-]+/g, '_');
  const walk = (d: string, inData: boolean): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory() && entry.name === 'audit') cpSync(p, path.join(runDir, 'audit', name(p)), { recursive: true });
      else if (entry.isDirectory()) walk(p, inData || /^(data|spool)$/.test(entry.name));
      else if (!inData && entry.isFile() && entry.name.endsWith('.log')) cpSync(p, path.join(runDir, LOGS_DIR, name(p)));
    }
  };
  walk(dir, false);
}
