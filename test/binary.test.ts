// The single `sfleet` binary (Node SEA): built from the sources with the Node.js users get (the
// registry's build of scripts/release/node-version), it runs without node_modules, standalone,
// as a member of a hub group (etcd + Redis), as an agent streaming to a hub, and on linux-arm64
// (under qemu-user-static here).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { HaServices } from './harness/ha-services.js';
import { httpsCall } from './harness/hub-child.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { registerAuditDir } from './harness/run-logs.js';
import { releaseBinary } from './harness/release-binary.js';
import { renewedFiles } from '../agent/stream/index.js';
import { ROOT } from './harness/sfleet-process.js';

function run(file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { cwd, timeout: 120_000, env: { PATH: '/usr/bin:/bin', HOME: cwd } }, (err, stdout, stderr) => (err ? reject(new Error(`${stderr}${err.message}`)) : resolve(stdout))),
  );
}

/** The release build: the user's environment (npm and its cache, the release cache under ~/.cache). */
function build(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('bash', ['scripts/release/build-binary.sh', ...args], { cwd: ROOT, timeout: 600_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${stderr}${err.message}`)) : resolve(stdout))),
  );
}

let built: string;

/** A fresh directory with only the binary in it (no node_modules, no web/, no proto/). */
function elsewhereWithBinary(): string {
  const elsewhere = mkdtempSync(join(tmpdir(), 'sea-run-'));
  copyFileSync(built, join(elsewhere, 'sfleet'));
  return elsewhere;
}

const PINNED_NODE = `v${readFileSync(join(ROOT, 'scripts', 'release', 'node-version'), 'utf8').trim()}`;

beforeAll(async () => {
  built = await releaseBinary();
}, 900_000);

/** The subcommand paths in a commander help text's "Commands:" list (without `help`). */
function commandsIn(help: string): string[] {
  const list = help.split(/^Commands:$/m)[1] ?? '';
  return [...list.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}


/** The installed binary's simulator, hub and agent, run from `dir` (hub.yaml and agent.yaml there), with the tail of each one's output. */
function runBinaryFleet(dir: string, sim: number): { children: ChildProcess[]; output: Record<string, string> } {
  const env = { PATH: '/usr/bin:/bin', HOME: dir };
  const output: Record<string, string> = { sim: '', hub: '', agent: '' };
  const child = (name: string, args: string[]) => {
    const c = spawn('./sfleet', args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => (output[name] = (output[name] + chunk.toString('utf8')).slice(-4_000));
    c.stdout.on('data', keep);
    c.stderr.on('data', keep);
    return c;
  };
  const children = [
    child('sim', ['sim', '--listen', `127.0.0.1:${sim}`, '--nodes', '8', '--jobs', '40', '--token', 'bin']),
    child('hub', ['hub', '--config', 'hub.yaml']),
    child('agent', ['agent', '--config', 'agent.yaml']),
  ];
  return { children, output };
}

describe('single binary', () => {
  it('builds, and runs CA commands from a directory with no node_modules', async () => {
    const elsewhere = elsewhereWithBinary();
    expect((await run('./sfleet', ['--version'], elsewhere)).trim()).toBe('0.1.0');
    await run('./sfleet', ['ca', 'init', '--dir', 'pki', '--trust-domain', 'bin.test'], elsewhere);
    expect(await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'agent', '--name', 'a1', '--cluster', 'c1'], elsewhere)).toContain('spiffe://bin.test/cluster/c1/agent/a1');
    await expect(run('./sfleet', ['jobs'], elsewhere)).rejects.toThrow(/no hub to talk to/);

    // A standalone hub from the binary alone: it starts, and serves the dashboard's login page
    // from the files built into it (there is no web/ beside it).
    await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'hub', '--name', 'hub'], elsewhere);
    const [http, grpc] = [await freePort(), await freePort()];
    const pki = (f: string) => join(elsewhere, 'pki', f);
    writeFileSync(
      join(elsewhere, 'hub.yaml'),
      stringify({ region: 'bin', hub_id: 'bin-1', data_dir: join(elsewhere, 'data'), listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` }, tls: { ca: pki('ca.pem'), cert: pki('hub.pem'), key: pki('hub-key.pem') } }),
    );
    registerAuditDir(join(elsewhere, 'data', 'audit'));
    const hub = spawn('./sfleet', ['hub', '--config', 'hub.yaml'], { cwd: elsewhere, env: { PATH: '/usr/bin:/bin', HOME: elsewhere }, stdio: 'ignore' });
    try {
      const get = (path: string) => httpsCall(`https://127.0.0.1:${http}${path}`, { ca: pki('ca.pem'), timeoutMs: 5_000 });
      await waitFor('binary hub ready', async () => hub.exitCode === null && (await get('/readyz').catch(() => undefined))?.status === 200, 60_000, 200);
      const page = await get('/login');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toBe(readFileSync(join(ROOT, 'web', 'login.html'), 'utf8'));
      expect((await get('/login.js')).body).toBe(readFileSync(join(ROOT, 'web', 'login.js'), 'utf8'));
    } finally {
      hub.kill('SIGTERM');
    }
  });

  it('embeds the pinned Node.js, not the Node that built it', async () => {
    const info = JSON.parse(await run(built, ['version', '-o', 'json'], tmpdir())) as Record<string, unknown>;
    expect(info).toEqual({ sfleet: '0.1.0', node: PINNED_NODE, platform: 'linux-x64', single_binary: true });
  });

  it('carries the third-party notices of what it ships', async () => {
    const notices = await run(built, ['version', '--notices'], tmpdir());
    expect(notices).toMatch(/^slurmfleet includes the following third-party software/);
    for (const pkg of ['fastify', '@grpc/grpc-js', '@duckdb/node-api', 'zod']) expect(notices).toMatch(new RegExp(`^${pkg.replace(/[/.]/g, '\\$&')}@\\d+\\.\\d+\\.\\d+\\S* {2}\\(`, 'm'));
  });

  it('renders the Kubernetes directory of a hub group from its own copy of the base', async () => {
    const elsewhere = elsewhereWithBinary();
    writeFileSync(join(elsewhere, 'hub.yaml'), 'tls: { ca: a, cert: b, key: c }\netcd: { endpoints: ["http://etcd-0.etcd:2379"] }\nscaling: { min_instances: 2, max_instances: 5 }\n');
    const out = await run('./sfleet', ['deploy', 'render', 'kubernetes', '--config', 'hub.yaml', '--out', 'k8s'], elsewhere);
    expect(out).toContain('then: kubectl apply -k k8s');
    for (const file of ['kustomization.yaml', 'base/kustomization.yaml', 'base/statefulset.yaml', 'base/horizontal-pod-autoscaler.yaml', 'hub.yaml']) expect(existsSync(join(elsewhere, 'k8s', file)), file).toBe(true);
    expect(readFileSync(join(elsewhere, 'k8s', 'autoscaler-patch.yaml'), 'utf8')).toMatch(/minReplicas: 2\n\s+maxReplicas: 5/);
  });

  it('answers --help for every subcommand, nested ones included', async () => {
    const elsewhere = elsewhereWithBinary();
    const seen: string[] = [];
    // Breadth first, a few at a time: each run starts the whole binary.
    let level: string[][] = [[]];
    while (level.length > 0) {
      const next: string[][] = [];
      for (let i = 0; i < level.length; i += 4) {
        await Promise.all(
          level.slice(i, i + 4).map(async (path) => {
            const help = await run('./sfleet', [...path, '--help'], elsewhere);
            expect(help, path.join(' ')).toMatch(/^Usage: sfleet/);
            seen.push(path.join(' '));
            for (const sub of commandsIn(help)) next.push([...path, sub]);
          }),
        );
      }
      level = next;
    }
    // The top level and a nested command of each kind are among them (the walk found the tree).
    expect(seen).toEqual(expect.arrayContaining(['', 'hub', 'agent', 'sim', 'jobs', 'ca', 'ca init', 'config validate', 'version']));
    expect(seen.length).toBeGreaterThan(20);
  }, 400_000);

  it('runs an agent that streams a simulated cluster to a hub, all three from the binary', async () => {
    const elsewhere = elsewhereWithBinary();
    await run('./sfleet', ['ca', 'init', '--dir', 'pki', '--trust-domain', 'bin.test'], elsewhere);
    await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'hub', '--name', 'hub'], elsewhere);
    await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'client', '--name', 'ops'], elsewhere);
    await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'agent', '--name', 'a1', '--cluster', 'binsim'], elsewhere);
    const [http, grpc, sim] = [await freePort(), await freePort(), await freePort()];
    const pki = (f: string) => join(elsewhere, 'pki', f);
    writeFileSync(
      join(elsewhere, 'hub.yaml'),
      stringify({ region: 'bin', hub_id: 'bin-agent', data_dir: join(elsewhere, 'data'), listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` }, tls: { ca: pki('ca.pem'), cert: pki('hub.pem'), key: pki('hub-key.pem') } }),
    );
    writeFileSync(
      join(elsewhere, 'agent.yaml'),
      stringify({
        cluster: 'binsim',
        hub: { endpoints: [`127.0.0.1:${grpc}`] },
        tls: { ca: pki('ca.pem'), cert: pki('a1.pem'), key: pki('a1-key.pem') },
        slurm: { source: 'rest', endpoints: [`http://127.0.0.1:${sim}`], auth: { user: 'root', token: 'bin' }, simulator: true },
        poll_interval: '500ms',
        spool_dir: join(elsewhere, 'spool'),
      }),
    );
    registerAuditDir(join(elsewhere, 'data', 'audit'));
    const { children, output } = runBinaryFleet(elsewhere, sim);
    try {
      const get = (path: string) => httpsCall(`https://127.0.0.1:${http}${path}`, { ca: pki('ca.pem'), cert: pki('ops.pem'), key: pki('ops-key.pem'), timeoutMs: 5_000 });
      let jobs: { items: { cluster: string }[] } | undefined;
      await waitFor(
        'the agent of the binary streams its cluster to the hub of the binary',
        async () => {
          if (children.some((c) => c.exitCode !== null)) throw new Error(`a child exited: ${children.map((c) => c.exitCode).join(', ')}`);
          const answer = await get('/api/v1/jobs?cluster=binsim&limit=100').catch(() => undefined);
          jobs = answer?.status === 200 ? (JSON.parse(answer.body) as typeof jobs) : undefined;
          return (jobs?.items.length ?? 0) > 0;
        },
        90_000,
        250,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${Object.entries(output).map(([name, text]) => `--- ${name}:\n${text}`).join('\n')}`);
      });
      expect(jobs?.items.every((j) => j.cluster === 'binsim')).toBe(true);
      const clusters = JSON.parse((await get('/api/v1/clusters')).body) as { items: { name: string }[] };
      expect(clusters.items.map((c) => c.name)).toEqual(['binsim']);
    } finally {
      for (const c of children) c.kill('SIGTERM');
    }
  }, 120_000);

  // The agent's program leaves its optional parts out (scripts/release/embedded-script.ts
  // AGENT_PARTS): each loads from inside the binary when first needed.
  it("loads the agent's optional parts when it needs them: tracing exports spans, a short certificate is renewed", async () => {
    const elsewhere = elsewhereWithBinary();
    await run('./sfleet', ['ca', 'init', '--dir', 'pki', '--trust-domain', 'parts.test'], elsewhere);
    await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'hub', '--name', 'hub'], elsewhere);
    await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'agent', '--name', 'a1', '--cluster', 'parts', '--lifetime', '40s'], elsewhere);
    const pki = (f: string) => join(elsewhere, 'pki', f);
    const firstCert = new X509Certificate(readFileSync(pki('a1.pem')));
    // The renewed pair goes to the agent's state directory; the configured files are the operator's.
    const renewedDir = join(elsewhere, 'state', 'sfleet-tls');
    const renewedCert = renewedFiles(renewedDir).cert;
    const traces: string[] = [];
    const otlp = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        traces.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => otlp.listen(0, '127.0.0.1', resolve));
    const [http, grpc, sim] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(
      join(elsewhere, 'hub.yaml'),
      stringify({ region: 'bin', hub_id: 'bin-parts', data_dir: join(elsewhere, 'data'), listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` }, tls: { ca: pki('ca.pem'), cert: pki('hub.pem'), key: pki('hub-key.pem'), ca_key: pki('ca-key.pem'), issued_lifetime: '1h' } }),
    );
    writeFileSync(
      join(elsewhere, 'agent.yaml'),
      stringify({
        cluster: 'parts',
        hub: { endpoints: [`127.0.0.1:${grpc}`] },
        tls: { ca: pki('ca.pem'), cert: pki('a1.pem'), key: pki('a1-key.pem'), renewed_dir: renewedDir },
        slurm: { source: 'rest', endpoints: [`http://127.0.0.1:${sim}`], auth: { user: 'root', token: 'bin' }, simulator: true },
        poll_interval: '500ms',
        spool_dir: join(elsewhere, 'spool'),
        observe: { tracing: { enabled: true, endpoint: `http://127.0.0.1:${(otlp.address() as AddressInfo).port}`, sampling_ratio: 1 } },
      }),
    );
    registerAuditDir(join(elsewhere, 'data', 'audit'));
    const { children, output } = runBinaryFleet(elsewhere, sim);
    try {
      await waitFor(
        "the binary's agent exports spans and renews its certificate",
        () => {
          if (children.some((c) => c.exitCode !== null)) throw new Error(`a child exited: ${children.map((c) => c.exitCode).join(', ')}`);
          return traces.length > 0 && existsSync(renewedCert) && new X509Certificate(readFileSync(renewedCert)).serialNumber !== firstCert.serialNumber;
        },
        90_000,
        250,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\ntraces: ${traces.length}\n${Object.entries(output).map(([name, text]) => `--- ${name}:\n${text}`).join('\n')}`);
      });
      expect(traces[0]).toBe('POST /v1/traces application/x-protobuf');
      const renewed = new X509Certificate(readFileSync(renewedCert));
      expect(renewed.subjectAltName).toBe(firstCert.subjectAltName);
      expect(Date.parse(renewed.validTo)).toBeGreaterThan(Date.parse(firstCert.validTo));
      expect(new X509Certificate(readFileSync(pki('a1.pem'))).serialNumber).toBe(firstCert.serialNumber);
    } finally {
      for (const c of children) c.kill('SIGTERM');
      otlp.close();
    }
  }, 150_000);

  describe('the container image (FROM scratch, built by buildah)', () => {
    const tag = `localhost/sfleet-test:${process.pid}`;
    // buildah 1.28 ignores STORAGE_DRIVER; build-image.sh uses vfs storage.
    const buildah = (args: string[]) => run('buildah', ['--storage-driver', 'vfs', ...args], tmpdir());
    afterAll(async () => {
      await buildah(['rmi', '--force', tag]).catch(() => undefined);
    });

    it('holds only the binary and what it loads, and runs a hub as a non-root user that answers the API', async () => {
      const out = mkdtempSync(join(tmpdir(), 'sea-image-'));
      const archive = join(out, 'sfleet-image.tar');
      await new Promise<void>((resolve, reject) =>
        execFile('bash', ['scripts/release/build-image.sh', '--binary', built, '--tag', tag, '--archive', archive, '--smoke'], { cwd: ROOT, timeout: 600_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${stderr}${err.message}`)) : (expect(stdout.trim()).toBe('0.1.0'), resolve()),
        ),
      );
      // The OCI archive is a release artifact: a tar with the OCI layout in it.
      expect(readFileSync(archive).subarray(257, 262).toString()).toBe('ustar');
      const image = JSON.parse(await buildah(['inspect', '--type', 'image', tag])) as { OCIv1: { config: { User: string; Entrypoint: string[]; ExposedPorts: Record<string, unknown> } } };
      expect(image.OCIv1.config).toMatchObject({ User: '65532:65532', Entrypoint: ['/usr/bin/sfleet'] });
      expect(Object.keys(image.OCIv1.config.ExposedPorts).sort()).toEqual(['7443/tcp', '8443/tcp']);

      // Its files: no shell, no package manager; the binary, its loader and libraries, the notices.
      const ctr = (await buildah(['from', tag])).trim();
      try {
        const mount = (await buildah(['mount', ctr])).trim();
        const files = (await run('find', ['.', '-type', 'f'], mount)).trim().split('\n').sort();
        expect(files).toContain('./usr/bin/sfleet');
        expect(files).toContain('./usr/share/doc/sfleet/THIRD_PARTY_NOTICES.txt');
        expect(files.some((f) => f.startsWith('./bin/') || f.endsWith('/sh') || f.includes('apt'))).toBe(false);
        expect(files.filter((f) => !/^\.\/(usr\/bin\/sfleet|usr\/share\/doc\/sfleet\/|etc\/(passwd|group)$|(usr\/)?lib(64)?\/)/.test(f))).toEqual([]);

        // A hub from the image: configuration and certificates mounted read-only, data in the
        // image's own /var/lib/sfleet, the network of the host (chroot isolation).
        const conf = mkdtempSync(join(tmpdir(), 'sea-image-conf-'));
        const copy = join(conf, 'sfleet');
        copyFileSync(built, copy);
        await run(copy, ['ca', 'init', '--dir', 'pki', '--trust-domain', 'image.test'], conf);
        await run(copy, ['ca', 'issue', '--dir', 'pki', '--role', 'hub', '--name', 'hub'], conf);
        await run(copy, ['ca', 'issue', '--dir', 'pki', '--role', 'client', '--name', 'ops'], conf);
        // The image's user reads the mounted directory (mkdtemp made it root's, 0700) and the keys.
        chmodSync(conf, 0o755);
        await run('chown', ['-R', '65532:65532', join(conf, 'pki')], conf);
        const [http, grpc] = [await freePort(), await freePort()];
        const inImage = (f: string) => `/etc/sfleet/pki/${f}`;
        writeFileSync(
          join(conf, 'hub.yaml'),
          stringify({ region: 'img', hub_id: 'img-1', data_dir: '/var/lib/sfleet/data', listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` }, tls: { ca: inImage('ca.pem'), cert: inImage('hub.pem'), key: inImage('hub-key.pem') } }),
        );
        let output = '';
        const hub = spawn('buildah', ['--storage-driver', 'vfs', 'run', '--isolation', 'chroot', '--volume', `${conf}:/etc/sfleet:ro`, ctr, '--', '/usr/bin/sfleet', 'hub', '--config', '/etc/sfleet/hub.yaml'], { stdio: ['ignore', 'pipe', 'pipe'] });
        const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4_000));
        hub.stdout.on('data', keep);
        hub.stderr.on('data', keep);
        try {
          const pki = (f: string) => join(conf, 'pki', f);
          const get = (path: string) => httpsCall(`https://127.0.0.1:${http}${path}`, { ca: pki('ca.pem'), cert: pki('ops.pem'), key: pki('ops-key.pem'), timeoutMs: 5_000 });
          await waitFor('the hub of the image is ready', async () => hub.exitCode === null && (await get('/readyz').catch(() => undefined))?.status === 200, 60_000, 250).catch((err: Error) => {
            throw new Error(`${err.message} (exit ${hub.exitCode}); output:\n${output}`);
          });
          const clusters = await get('/api/v1/clusters');
          expect(clusters.status, clusters.body).toBe(200);
          // The hub opened DuckDB at start (history is on by default): extracted from the binary
          // into the image's cache directory, it found its libraries in the image.
          expect(readdirSync(join(mount, 'var/cache/sfleet/sfleet/native')).some((d) => d.startsWith('duckdb-'))).toBe(true);
          const history = await get('/api/v1/history/jobs');
          expect(history.status, history.body).toBe(200);
          // The process runs as the image's user, not root.
          const pid = (await run('pgrep', ['-f', '-n', '^/usr/bin/sfleet hub --config /etc/sfleet/hub.yaml'], tmpdir())).trim();
          expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\s+65532\s/m);
        } finally {
          await run('pkill', ['-TERM', '-f', '^/usr/bin/sfleet hub --config /etc/sfleet/hub.yaml'], tmpdir()).catch(() => undefined);
          hub.kill('SIGTERM');
        }
      } finally {
        await buildah(['rm', ctr]).catch(() => undefined);
      }
    }, 600_000);
  });

  describe('linux-arm64, under qemu-user-static with the arm64 cross libc as sysroot', () => {
    let arm64: string;
    beforeAll(async () => {
      arm64 = join(mkdtempSync(join(tmpdir(), 'sea-arm64-')), 'sfleet');
      await build(['--arch', 'arm64', '--out', arm64]);
    }, 600_000);

    it('is an arm64 executable that answers --version, version, ca init, the agent\'s --help and config validate', async () => {
      expect(readFileSync(arm64).readUInt16LE(18)).toBe(0xb7); // ELF e_machine: EM_AARCH64
      const qemu = (args: string[], cwd: string) => run('bash', [join(ROOT, 'scripts/release/qemu-arm64.sh'), arm64, ...args], cwd);
      const elsewhere = mkdtempSync(join(tmpdir(), 'sea-arm64-run-'));
      expect((await qemu(['--version'], elsewhere)).trim()).toBe('0.1.0');
      const info = JSON.parse(await qemu(['version', '-o', 'json'], elsewhere)) as Record<string, unknown>;
      expect(info).toEqual({ sfleet: '0.1.0', node: PINNED_NODE, platform: 'linux-arm64', single_binary: true });
      await qemu(['ca', 'init', '--dir', 'pki', '--trust-domain', 'arm.test'], elsewhere);
      expect(readFileSync(join(elsewhere, 'pki', 'ca.pem'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
      // The agent's own embedded program (what a head node runs) and the config checks an installer runs.
      expect(await qemu(['agent', '--help'], elsewhere)).toContain('--config');
      copyFileSync(join(ROOT, 'deploy/examples/agent.yaml'), join(elsewhere, 'agent.yaml'));
      await qemu(['config', 'validate', '--no-require-env', 'agent.yaml'], elsewhere);
      writeFileSync(join(elsewhere, 'bad.yaml'), readFileSync(join(elsewhere, 'agent.yaml'), 'utf8').replace(/^poll_interval: .*$/m, 'poll_interval: soon'));
      await expect(qemu(['config', 'validate', '--no-require-env', 'bad.yaml'], elsewhere)).rejects.toThrow(/bad\.yaml:\d+: poll_interval/);
    }, 240_000);
  });

  describe('as a member of a hub group (etcd + Redis)', () => {
    let services: HaServices | undefined;
    afterAll(async () => {
      await services?.stop();
    });

    // etcd3 (membership, leader election, fencing) loads its gRPC definitions and the Redis
    // client its commands at run time; the binary has no node_modules to read them from.
    it('joins the group, leads it, and serves the API', async () => {
      services = await HaServices.create('binary');
      const elsewhere = elsewhereWithBinary();
      await run('./sfleet', ['ca', 'init', '--dir', 'pki', '--trust-domain', 'bin.test'], elsewhere);
      await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'hub', '--name', 'hub'], elsewhere);
      await run('./sfleet', ['ca', 'issue', '--dir', 'pki', '--role', 'client', '--name', 'ops'], elsewhere);
      const [http, grpc] = [await freePort(), await freePort()];
      const pki = (f: string) => join(elsewhere, 'pki', f);
      writeFileSync(
        join(elsewhere, 'hub.yaml'),
        stringify({
          region: 'bin',
          hub_id: 'bin-ha',
          data_dir: join(elsewhere, 'data'),
          listen: { http: `127.0.0.1:${http}`, grpc: `127.0.0.1:${grpc}` },
          tls: { ca: pki('ca.pem'), cert: pki('hub.pem'), key: pki('hub-key.pem') },
          etcd: { endpoints: services.etcdEndpoints, lease_ttl: '3s' },
          redis: { url: services.redisUrl },
        }),
      );
      registerAuditDir(join(elsewhere, 'data', 'audit'));
      let output = '';
      const hub = spawn('./sfleet', ['hub', '--config', 'hub.yaml'], { cwd: elsewhere, env: { PATH: '/usr/bin:/bin', HOME: elsewhere }, stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (c: Buffer) => (output = (output + c.toString('utf8')).slice(-20_000));
      hub.stdout.on('data', keep);
      hub.stderr.on('data', keep);
      try {
        const get = (path: string) => httpsCall(`https://127.0.0.1:${http}${path}`, { ca: pki('ca.pem'), cert: pki('ops.pem'), key: pki('ops-key.pem'), timeoutMs: 5_000 });
        // Ready comes first (a hub serves while etcd or Redis are still connecting); then the
        // checks say it reached both and leads.
        let checks: Record<string, string> | undefined;
        await waitFor(
          'binary hub ready, with etcd and Redis, leading',
          async () => {
            if (hub.exitCode !== null) return false;
            const ready = await get('/readyz');
            checks = ready.status === 200 ? (JSON.parse(ready.body) as { checks: Record<string, string> }).checks : undefined;
            return checks?.etcd === 'ok' && checks.redis === 'ok' && checks.leader?.startsWith('this hub');
          },
          60_000,
          200,
        ).catch((err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(checks)} (exit code ${hub.exitCode}); hub output:\n${output}`);
        });
        let hubs: { mode: string; etcd: string; leader: string; items: { hub_id: string; leader: boolean; health: string; redis: string }[] } | undefined;
        await waitFor(
          'binary hub leads its group, its membership record healthy',
          async () => {
            // The record is rewritten every lease_ttl / 3: the first may predate the Redis connection.
            hubs = JSON.parse((await get('/api/v1/hubs')).body) as typeof hubs;
            return hubs?.leader === 'bin-ha' && hubs.items.every((m) => m.health === 'ok' && m.redis === 'ok');
          },
          30_000,
          200,
        ).catch((err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(hubs)}; hub output:\n${output}`);
        });
        expect(hubs).toMatchObject({ mode: 'clustered', etcd: 'ok', leader: 'bin-ha' });
        expect(hubs?.items.map((m) => [m.hub_id, m.leader, m.health, m.redis])).toEqual([['bin-ha', true, 'ok', 'ok']]);
        const clusters = await get('/api/v1/clusters');
        expect(clusters.status, clusters.body).toBe(200);
        expect(JSON.parse(clusters.body)).toEqual({ items: [] });
      } finally {
        hub.kill('SIGTERM');
      }
    });
  });
});
