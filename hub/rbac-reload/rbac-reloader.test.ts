import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { hubConfigSchema } from '../config/index.js';
import { Rbac, type Principal } from '../policy/index.js';
import { waitFor } from '../../test/harness/wait.js';
import { RbacReloader } from './rbac-reloader.js';

const carol: Principal = { name: 'carol', method: 'oidc', role: 'user', groups: [], attributes: {} };
const yaml = (clusters: string, extra = ''): string =>
  `tls: { ca: a, cert: b, key: c }\n${extra}rbac:\n  roles:\n    ops: { permissions: ["jobs:read"], filters: { cluster: [${clusters}] } }\n  bindings: [ { user: carol, role: ops } ]\n`;

let reloader: RbacReloader | undefined;
afterEach(() => reloader?.close());

function setup(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'rbac-reload-'));
  const file = join(dir, 'hub.yaml');
  writeFileSync(file, text);
  const load = () => loadConfigFile(hubConfigSchema, file, { env: {} });
  const started = load();
  const rbac = new Rbac(started.rbac);
  const out = new PassThrough();
  const lines: string[] = [];
  out.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  let changed = 0;
  reloader = new RbacReloader({ rbac, file, load, logger: createLogger({ name: 't', destination: out }), changed: () => changed++, debounceMs: 20 }, started);
  const sees = (cluster: string): boolean => rbac.rowFilter(carol, 'jobs').allows('job', { cluster });
  return { dir, file, rbac, lines, sees, changed: () => changed };
}

describe('rbac reload', () => {
  it('SIGHUP applies a changed rbac section; the same again is "unchanged"; other sections are named as needing a restart', async () => {
    const t = setup(yaml('a, b'));
    expect(t.sees('b')).toBe(true);
    writeFileSync(t.file, yaml('a', 'log_level: debug\n'));
    expect(await reloader!.reload('SIGHUP')).toBe('changed');
    expect(t.sees('b')).toBe(false);
    expect(t.sees('a')).toBe(true);
    expect(t.changed()).toBe(1);
    expect(await reloader!.reload('SIGHUP')).toBe('unchanged');
    expect(t.changed()).toBe(1);
    expect(t.lines.join('\n')).toMatch(/sections other than rbac changed; they apply at the next start.*rbac reloaded/);
  });

  it('refuses a file that does not validate, naming the file, line and key, and keeps the policy in force', async () => {
    const t = setup(yaml('a, b'));
    writeFileSync(t.file, yaml('a').replace('role: ops', 'role: opz'));
    expect(await reloader!.reload('SIGHUP')).toBe('refused');
    expect(t.sees('b')).toBe(true);
    expect(t.changed()).toBe(0);
    const line = t.lines.find((l) => l.includes('rbac reload refused'))!;
    expect(line).toMatch(/hub\.yaml.*unknown role \\"opz\\"/);
    expect(line).toMatch(/"level":50/);
  });

  it('reloads when the file is replaced (an editor\'s rename), without a signal', async () => {
    const t = setup(yaml('a, b'));
    reloader!.start(50);
    // The poll's first status is its baseline: a change before it is taken is not one.
    await new Promise((r) => setTimeout(r, 500));
    const tmp = join(t.dir, '.hub.yaml.swp');
    writeFileSync(tmp, yaml('a'));
    renameSync(tmp, t.file);
    // Generous: on a loaded machine the poll and the debounce timer run late.
    await waitFor('the new policy in force', () => !t.sees('b'), 15_000, 20);
    expect(t.changed()).toBe(1);
  }, 20_000);
});
