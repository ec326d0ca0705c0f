// After the integration tests and the chaos scenarios: reads every log and audit file of the
// run (see run-dir.ts) and looks for every registered secret and for secret-shaped strings
// (sfleet API and session tokens, PEM private keys, bearer JWTs). Prints where (file, line,
// which secret by its description; never the secret itself) and exits 1 when anything is found.
//   node dist/scripts/test/scan-secrets.js [run dir]   (default: $SFLEET_TEST_LOG_DIR)
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { AUDIT_DIRS_FILE, LOGS_DIR, SECRETS_FILE } from './run-dir.js';

export interface Finding {
  file: string;
  line: number;
  what: string;
}

interface Needle {
  text: string;
  what: string;
  /** Short secrets (a 6-digit TOTP code) only count as a whole quoted string: digits are everywhere. */
  quoted: boolean;
}

const PATTERNS: { re: RegExp; what: string }[] = [
  { re: /\bsft_[0-9a-f]{16}_[A-Za-z0-9_-]{20,}/, what: 'an sfleet API token (sft_...)' },
  { re: /\bsfs_[A-Za-z0-9_-]{20,}/, what: 'an sfleet session token (sfs_...)' },
  { re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: 'a PEM private key' },
  { re: /Bearer\s+ey[A-Za-z0-9_-]{10,}/, what: 'a bearer JWT (Bearer ey...)' },
];

const SHORT = 8;

/** The forms a secret takes in a log line: as is, JSON-escaped, and each long line of a multi-line value (PEM bodies). */
export function needlesOf(value: string, what: string): Needle[] {
  const out = new Map<string, Needle>();
  const add = (text: string, quoted = false): void => {
    if (text && !out.has(text)) out.set(text, { text, what, quoted });
  };
  if (value.length < SHORT) {
    add(JSON.stringify(value), true);
    return [...out.values()];
  }
  add(value);
  add(JSON.stringify(value).slice(1, -1));
  if (value.includes('\n')) {
    for (const line of value.split('\n')) if (line.length >= 32 && !line.startsWith('-----')) add(line.trim());
  }
  return [...out.values()];
}

function readSecrets(runDir: string): { needles: Needle[]; count: number } {
  const file = path.join(runDir, SECRETS_FILE);
  if (!existsSync(file)) return { needles: [], count: 0 };
  const needles: Needle[] = [];
  let count = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const { what, value } = JSON.parse(line) as { what: string; value: string };
    needles.push(...needlesOf(value, what));
    count++;
  }
  return { needles, count };
}

function filesUnder(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(p, out);
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** The log files of the run plus every file of the registered (or copied) audit directories. */
export function filesOfRun(runDir: string): string[] {
  const files = filesUnder(path.join(runDir, LOGS_DIR));
  filesUnder(path.join(runDir, 'audit'), files);
  const listed = path.join(runDir, AUDIT_DIRS_FILE);
  if (existsSync(listed)) {
    for (const dir of new Set(readFileSync(listed, 'utf8').split('\n').filter(Boolean))) filesUnder(dir, files);
  }
  return files;
}

async function scanFile(file: string, needles: Needle[], findings: Finding[]): Promise<void> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    const seen = new Set<string>();
    for (const needle of needles) {
      if (seen.has(needle.what) || !line.includes(needle.text)) continue;
      seen.add(needle.what);
      findings.push({ file, line: n, what: needle.what });
    }
    for (const { re, what } of PATTERNS) {
      if (seen.size === 0 && re.test(line)) findings.push({ file, line: n, what });
    }
  }
}

export async function scanRun(runDir: string): Promise<{ files: number; secrets: number; findings: Finding[] }> {
  const { needles, count } = readSecrets(runDir);
  const files = filesOfRun(runDir).filter((f) => existsSync(f) && statSync(f).size > 0);
  const findings: Finding[] = [];
  for (const file of files) await scanFile(file, needles, findings);
  return { files: files.length, secrets: count, findings };
}

/** What the scan prints: where and which secret, never its value. */
export function report(result: { files: number; secrets: number; findings: Finding[] }): string[] {
  const lines = result.findings.map((f) => `${f.file}:${f.line}: ${f.what}`);
  const where = `${result.files} log and audit files (${result.secrets} registered secrets)`;
  lines.push(result.findings.length ? `secrets scan: ${result.findings.length} finding(s) in ${where}` : `secrets scan: nothing found in ${where}`);
  return lines;
}

async function main(): Promise<number> {
  const runDir = process.argv[2] ?? process.env.SFLEET_TEST_LOG_DIR;
  if (!runDir || !existsSync(runDir)) {
    console.error('scan-secrets: no run directory (pass it or set SFLEET_TEST_LOG_DIR)');
    return 2;
  }
  const result = await scanRun(runDir);
  for (const line of report(result)) console.log(line);
  return result.findings.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`scan-secrets: ${(err as Error).stack ?? String(err)}`);
      process.exit(2);
    },
  );
}
