import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_DIRS_FILE, keepForScan, LOGS_DIR, registerSecret, SECRETS_FILE } from './run-dir.js';
import { report, scanRun } from './scan-secrets.js';

const TOKEN = 'sft_0123456789abcdef_Qm9ndXNTZWNyZXRGb3JUaGVTY2FuVGVzdDEyMzQ1Njc';
const PASSWORD = 'correct horse battery staple';
const PEM = `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(64)}\n${'B'.repeat(30)}\n-----END PRIVATE KEY-----\n`;

function runDir(secrets: { what: string; value: string }[], logs: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), `scan-secrets-${process.pid}-`));
  mkdirSync(path.join(dir, LOGS_DIR));
  writeFileSync(path.join(dir, SECRETS_FILE), secrets.map((s) => `${JSON.stringify(s)}\n`).join(''));
  for (const [name, text] of Object.entries(logs)) writeFileSync(path.join(dir, LOGS_DIR, name), text);
  return dir;
}

const registered = [
  { what: 'API token of alice', value: TOKEN },
  { what: 'password of bob', value: PASSWORD },
  { what: 'TOTP code of bob', value: '123456' },
  { what: 'hub TLS key', value: PEM },
];
const cleanLog = '{"level":30,"pid":123456,"msg":"login ok","user":"bob","token":"[redacted]"}\n{"level":30,"msg":"listening"}\n';

describe('the secrets scan of a test run', () => {
  it('passes a run whose logs hold no registered secret and nothing secret-shaped', async () => {
    const result = await scanRun(runDir(registered, { 'hub.1.log': cleanLog, 'agent.2.log': 'started\n' }));
    expect(result).toEqual({ files: 2, secrets: 4, findings: [] });
    expect(report(result).at(-1)).toBe('secrets scan: nothing found in 2 log and audit files (4 registered secrets)');
  });

  it('finds a planted password by file, line and description, and never prints the value', async () => {
    const dir = runDir(registered, { 'hub.1.log': `${cleanLog}{"msg":"bind failed","pw":"${PASSWORD}"}\n` });
    const result = await scanRun(dir);
    expect(result.findings).toEqual([{ file: path.join(dir, LOGS_DIR, 'hub.1.log'), line: 3, what: 'password of bob' }]);
    const printed = report(result).join('\n');
    expect(printed).toContain('hub.1.log:3: password of bob');
    expect(printed).toContain('1 finding(s)');
    expect(printed).not.toContain(PASSWORD);
  });

  it('finds a short secret only as a whole quoted value, and a PEM key by a line of its body', async () => {
    const json = JSON.stringify({ msg: 'tls', key: PEM.replace('-----BEGIN PRIVATE KEY-----', 'x') });
    const dir = runDir(registered, { 'a.log': `{"msg":"totp","code":"123456"}\n${json}\n` });
    expect((await scanRun(dir)).findings.map((f) => [f.line, f.what])).toEqual([
      [1, 'TOTP code of bob'],
      [2, 'hub TLS key'],
    ]);
  });

  it('finds secret shapes nobody registered: tokens, private keys, bearer JWTs', async () => {
    const dir = runDir([], {
      'cli.log': [
        `created ${TOKEN}`,
        'session sfs_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
        '-----BEGIN EC PRIVATE KEY-----',
        'authorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig',
        'token sft_ prefix and sfs_ alone are no secrets',
      ].join('\n'),
    });
    expect((await scanRun(dir)).findings.map((f) => [f.line, f.what])).toEqual([
      [1, 'an sfleet API token (sft_...)'],
      [2, 'an sfleet session token (sfs_...)'],
      [3, 'a PEM private key'],
      [4, 'a bearer JWT (Bearer ey...)'],
    ]);
  });

  it('reads the records of registered audit directories where they are', async () => {
    const audit = mkdtempSync(path.join(tmpdir(), `scan-audit-${process.pid}-`));
    writeFileSync(path.join(audit, '2026-11-26.jsonl'), `{"action":"token:create"}\n{"body":{"password":"${PASSWORD}"}}\n`);
    const dir = runDir(registered, {});
    writeFileSync(path.join(dir, AUDIT_DIRS_FILE), `${audit}\n/nonexistent/audit\n`);
    expect(await scanRun(dir)).toEqual({ files: 1, secrets: 4, findings: [{ file: path.join(audit, '2026-11-26.jsonl'), line: 2, what: 'password of bob' }] });
  });
});

describe('a run that deletes its own directory (chaos)', () => {
  const before = process.env.SFLEET_TEST_LOG_DIR;
  afterEach(() => {
    if (before === undefined) delete process.env.SFLEET_TEST_LOG_DIR;
    else process.env.SFLEET_TEST_LOG_DIR = before;
  });

  it('keeps its process logs and audit records for the scan, not the write-ahead logs of its data', async () => {
    const run = mkdtempSync(path.join(tmpdir(), `scan-run-${process.pid}-`));
    process.env.SFLEET_TEST_LOG_DIR = run;
    const chaos = mkdtempSync(path.join(tmpdir(), `scan-chaos-${process.pid}-`));
    mkdirSync(path.join(chaos, 'hub-1', 'data', 'audit'), { recursive: true });
    mkdirSync(path.join(chaos, 'hub-1', 'data', 'clusters', 'c'), { recursive: true });
    writeFileSync(path.join(chaos, 'hub-1', 'hub.log'), `{"msg":"token ${TOKEN}"}\n`);
    writeFileSync(path.join(chaos, 'hub-1', 'data', 'audit', 'a.jsonl'), `{"reason":"${PASSWORD}"}\n`);
    writeFileSync(path.join(chaos, 'hub-1', 'data', 'clusters', 'c', 'wal.log'), `${PASSWORD}\n`);
    registerSecret(PASSWORD, 'password of bob');
    keepForScan(chaos, 'chaos');
    const found = (await scanRun(run)).findings.map((f) => [path.relative(run, f.file), f.line, f.what]);
    expect(found).toEqual([
      [path.join(LOGS_DIR, 'chaos_hub-1_hub.log'), 1, 'an sfleet API token (sft_...)'],
      [path.join('audit', 'chaos_hub-1_data_audit', 'a.jsonl'), 1, 'password of bob'],
    ]);
  });
});
