import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../shared/config/index.js';
import { hubConfigSchema } from '../config/index.js';

const base = 'tls: { ca: a, cert: b, key: c }\n';
const parse = (text: string) => parseConfigText(hubConfigSchema, base + text, 'hub.yaml');

describe('the audit section of the hub config', () => {
  it('has working defaults when absent', () => {
    expect(parse('').audit).toEqual({
      level: 'Metadata',
      rules: [
        { level: 'Metadata', actions: ['audit:*'] },
        { level: 'None', actions: ['*:read'] },
      ],
      retention_days: 2555,
      max_file_size: 64 * 1024 * 1024,
    });
  });

  it('reads every key', () => {
    const audit = parse(
      'audit:\n  dir: /var/lib/sfleet/audit\n  level: Request\n  retention_days: 30\n  max_file_size: 1MiB\n  rules: [{ level: None, users: [probe] }]\n  ship:\n    webhook: { url: "https://siem.example/hook", secret_file: /etc/sfleet/hook.key }\n    buffer: 100\n    batch: 10\n    flush_interval: 2s\n    timeout: 3s\n',
    ).audit;
    expect(audit).toMatchObject({ dir: '/var/lib/sfleet/audit', level: 'Request', retention_days: 30, max_file_size: 1024 * 1024, rules: [{ level: 'None', users: ['probe'] }] });
    expect(audit.ship).toMatchObject({ webhook: { url: 'https://siem.example/hook', secret_file: '/etc/sfleet/hook.key' }, buffer: 100, batch: 10, flush_interval: 2000, timeout: 3000 });
  });

  it('names the file, line and key of a mistake', () => {
    expect(() => parse('audit:\n  retention_days: -1\n')).toThrow('hub.yaml:3: audit.retention_days: Too small: expected number to be >=1');
    expect(() => parse('audit:\n  level: Verbose\n')).toThrow(/^hub\.yaml:3: audit\.level: /);
    expect(() => parse('audit:\n  ship:\n    elasticsearch: { url: "http://es:9200", password: hunter2 }\n')).toThrow(/^hub\.yaml:4: audit\.ship\.elasticsearch: Unrecognized key: "password"/);
    expect(() => parse('audit:\n  ship:\n    elasticsearch: { url: "http://es:9200", username: elastic, password_env: "not a var" }\n')).toThrow(/audit\.ship\.elasticsearch\.password_env: an environment variable name/);
  });
});
