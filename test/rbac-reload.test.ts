// Sessions that end when the policy changes (issue 12, item 4), against real hub processes: the
// rbac section reloads on SIGHUP and on a change of the config file, and a caller whose roles no
// longer cover what its open watch shows loses that watch (SSE and gRPC) at once, with the reason.
// A file that does not validate is refused with a log line and the policy in force stays.
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsFiles } from '../shared/tls/index.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt } from './harness/sfleet-process.js';
import { sleep, waitFor } from './harness/wait.js';
import { grpcWatch, sseWatch } from './harness/watch-streams.js';

let pki: TestPki;
let carol: TlsFiles;
let dave: TlsFiles;
/** Reloads on SIGHUP only (rbac.watch_file: false), so a SIGHUP test cannot pass by the file watcher. */
let onSignal: LoginHub;
/** Reloads when its file changes. */
let onChange: LoginHub;

const ALL = ['watch:read', 'cluster:read', 'jobs:read', 'nodes:read'];
function policy(carolClusters: string[], watchFile: boolean): Record<string, unknown> {
  return {
    watch_file: watchFile,
    roles: { ops: { permissions: ALL, filters: { cluster: carolClusters } }, ops_dave: { permissions: ALL, filters: { cluster: ['a', 'b'] } } },
    bindings: [{ client: 'carol', role: 'ops' }, { client: 'dave', role: 'ops_dave' }],
  };
}

/** Rewrites the hub's config file with another rbac section, by a rename as config managers do. */
function writeRbac(hub: LoginHub, rbac: unknown): void {
  const config = parse(readFileSync(hub.configFile, 'utf8')) as Record<string, unknown>;
  const tmp = `${hub.configFile}.new`;
  writeFileSync(tmp, stringify({ ...config, rbac }));
  renameSync(tmp, hub.configFile);
}


const watchSse = (hub: LoginHub, who: TlsFiles) => sseWatch(hub, pki.ca, { cert: who });
const watchGrpc = (hub: LoginHub, who: TlsFiles) => grpcWatch(hub, pki.ca, { cert: who });

beforeAll(async () => {
  assertBuilt();
  pki = await makePki('rbac-reload.sfleet');
  carol = await pki.issue('client', 'carol');
  dave = await pki.issue('client', 'dave');
  onSignal = new LoginHub(mkdtempSync(join(tmpdir(), 'sfleet-rbac-sighup-')), pki, { rbac: policy(['a', 'b'], false) });
  onChange = new LoginHub(mkdtempSync(join(tmpdir(), 'sfleet-rbac-file-')), pki, { rbac: policy(['a', 'b'], true) });
  await Promise.all([onSignal.start(), onChange.start()]);
});

afterAll(async () => {
  await Promise.all([onSignal?.stop(), onChange?.stop()]);
});

describe('rbac reload: open watches follow the policy', () => {
  it("SIGHUP: carol loses cluster b; her SSE and gRPC watches end within 5 s with the reason; dave's stays; a bad file is refused and changes nothing", async () => {
    const hub = onSignal;
    const sse = watchSse(hub, carol);
    const grpc = watchGrpc(hub, carol);
    const daves = watchSse(hub, dave);
    await waitFor('the watches open', () => sse.text().includes('watching since') && daves.text().includes('watching since'));
    writeRbac(hub, policy(['a'], false));
    // Not watching the file: past two re-check periods (limits.session_recheck, 2 s) nothing has changed.
    await sleep(4_500);
    expect(sse.ended()).toBe(0);
    expect(grpc.ended()).toBe(0);
    const signalled = Date.now();
    process.kill(hub.pid, 'SIGHUP');
    await waitFor('carol\'s watches ended', () => sse.ended() && grpc.ended(), 10_000, 20);
    expect(sse.ended() - signalled).toBeLessThanOrEqual(5_000);
    expect(grpc.ended() - signalled).toBeLessThanOrEqual(5_000);
    expect(sse.text()).toMatch(/event: error\ndata: .*SF_WATCH_ENDED.*roles changed/);
    expect(grpc.error()?.details).toMatch(/roles changed/);
    expect(hub.log()).toMatch(/"trigger":"SIGHUP".*rbac reloaded: the new policy is in force/);
    // Her watch opens again, under the new view; dave's was never touched.
    const again = watchSse(hub, carol);
    await waitFor('carol watches again', () => again.text().includes('watching since'));
    expect(daves.ended()).toBe(0);

    // A file that does not validate: refused, logged with the key, and the policy in force stays.
    writeRbac(hub, { ...policy(['a', 'b'], false), bindings: [{ client: 'carol', role: 'no_such_role' }] });
    process.kill(hub.pid, 'SIGHUP');
    await waitFor('the refusal logged', () => hub.log().includes('rbac reload refused'), 10_000);
    expect(hub.log()).toMatch(/unknown role \\"no_such_role\\".*rbac reload refused: the config file is not valid; the policy in force stays/);
    await sleep(2_500);
    expect(again.ended()).toBe(0);
    expect(daves.ended()).toBe(0);
    expect(hub.alive).toBe(true);
    for (const w of [again, daves, grpc]) w.close();
  });

  it('file change, no signal: carol loses cluster b and her watch ends within 5 s of the write', async () => {
    const hub = onChange;
    const sse = watchSse(hub, carol);
    const daves = watchSse(hub, dave);
    await waitFor('the watches open', () => sse.text().includes('watching since') && daves.text().includes('watching since'));
    const written = Date.now();
    writeRbac(hub, policy(['a'], true));
    await waitFor("carol's watch ended", () => sse.ended(), 10_000, 20);
    expect(sse.ended() - written).toBeLessThanOrEqual(5_000);
    expect(sse.text()).toMatch(/SF_WATCH_ENDED.*roles changed/);
    expect(hub.log()).toMatch(/"trigger":"file change".*rbac reloaded/);
    expect(daves.ended()).toBe(0);
    daves.close();
  });
});
