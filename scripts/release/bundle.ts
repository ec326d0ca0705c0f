// Bundles the CLI into the CommonJS files the single binary runs (build-binary.sh runs this).
// The binary has no node_modules, so a dependency that reads files beside its own code at run
// time must get them built in here. etcd3 (a hub group: membership, leader election, fencing)
// parses ../proto/rpc.proto with proto-loader when it is loaded: the definitions are parsed now,
// with the protobufjs that proto-loader uses, and handed to proto-loader's fromJSON instead.
//
//   node bundle.cjs <outdir>     (compiled by esbuild first, see build-binary.sh)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { AGENT_PARTS, EMBEDDED_SCRIPTS } from './embedded-script.js';

interface ProtobufRoot {
  loadSync(file: string, options: { keepCase: boolean }): ProtobufRoot;
  resolveAll(): ProtobufRoot;
  toJSON(): unknown;
}

const fromRepo = createRequire(join(process.cwd(), 'package.json'));
// The same protobufjs proto-loader reads the JSON with at run time.
const protobuf = createRequire(fromRepo.resolve('@grpc/proto-loader'))('protobufjs') as { Root: new () => ProtobufRoot };

// etcd3/lib/connection-pool.js: loadSync(`${__dirname}/../proto/rpc.proto`, { keepCase: true, ... }).
const etcd3ProtoLoad = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`,/;

const etcd3Protos: Plugin = {
  name: 'etcd3-protos',
  setup(b) {
    b.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!etcd3ProtoLoad.test(source)) {
        throw new Error(`${args.path} no longer loads ../proto/rpc.proto the way scripts/release/bundle.ts expects: the binary would fail on a hub with etcd`);
      }
      // keepCase as etcd3 asks for: the field names stay as the .proto writes them.
      const definitions = new protobuf.Root().loadSync(join(dirname(args.path), '..', 'proto', 'rpc.proto'), { keepCase: true }).resolveAll().toJSON();
      return { contents: source.replace(etcd3ProtoLoad, () => `(0, proto_loader_1.fromJSON)(${JSON.stringify(definitions)},`), loader: 'js' };
    });
  },
};

// @duckdb/node-bindings requires `@duckdb/node-bindings-<platform>-<arch>/duckdb.node`, a native
// addon esbuild cannot bundle: the binary carries it as assets (build-binary.sh) and this
// loader extracts, checks and loads it at first use.
const embeddedAddons: Plugin = {
  name: 'embedded-addons',
  setup(b) {
    b.onResolve({ filter: /^@duckdb\/node-bindings-[a-z0-9-]+\/duckdb\.node$/ }, () => ({ path: 'duckdb', namespace: 'embedded-addon' }));
    b.onLoad({ filter: /.*/, namespace: 'embedded-addon' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(join(process.cwd(), 'scripts', 'release', 'embedded-addon.ts'))}).loadEmbeddedAddon(${JSON.stringify(args.path)});`,
      resolveDir: process.cwd(),
      loader: 'js',
    }));
  },
};

// zod's `z` namespace re-exports all 64 of its message locales: 296 KB of every program's source,
// which V8 keeps for the life of the process. sfleet speaks English only, which zod sets itself
// (`config(en())`), so `z.locales` holds `en` alone here.
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({ contents: 'export { default as en } from "./en.js";', loader: 'js' }));
  },
};

// The agent's program leaves out its optional parts (embedded-script.ts AGENT_PARTS): an
// import() of one loads that part's own program at that moment. Only an import() is replaced (a
// static import would load it at start anyway); a part no longer imported so fails the build,
// so the list cannot silently go stale.
const agentParts: Plugin = {
  name: 'agent-parts',
  setup(b) {
    const seen = new Set<string>();
    b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const part = AGENT_PARTS[relative(process.cwd(), join(args.resolveDir, args.path)).replace(/\.js$/, '.ts')];
      if (!part) return undefined;
      seen.add(part);
      return { path: part, namespace: 'agent-part' };
    });
    b.onLoad({ filter: /.*/, namespace: 'agent-part' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(join(process.cwd(), 'scripts', 'release', 'embedded-program.ts'))}).loadEmbeddedProgram(${JSON.stringify(args.path)});`,
      resolveDir: process.cwd(),
      loader: 'js',
    }));
    // Errors are returned: esbuild ignores any pushed onto result.errors (this check once did).
    b.onEnd(() => ({
      errors: Object.entries(AGENT_PARTS)
        .filter(([, part]) => !seen.has(part))
        .map(([file, part]) => ({ text: `${file} (${part}) is no longer loaded with import() by the agent: update AGENT_PARTS in scripts/release/embedded-script.ts` })),
    }));
  },
};

// Packages the agent must not run at start: each loads only with its part above (OpenTelemetry
// with tracing on, @peculiar/x509 with a renewal due) or behind another import() (prom-client's
// use of @opentelemetry/api, with metrics on). A file reached from what a running agent loads
// (AGENT_RUNS: `sfleet agent` imports the agent and its config on run) through static imports
// alone runs at start; one reaching a left-out package fails the build, naming the path
// (tracing.ts once imported @opentelemetry/api: 1.2 MiB of every idle agent).
const AGENT_RUNS = ['scripts/release/sea-agent.ts', 'agent/main.ts', 'agent/config/index.ts'];
const AGENT_LEAVES_OUT = /(^|[\\/])node_modules[\\/](@opentelemetry|@peculiar|asn1js|tsyringe|reflect-metadata)[\\/]/;
const agentLeavesOut: Plugin = {
  name: 'agent-leaves-out',
  setup(b) {
    b.onEnd((result) => {
      const inputs = result.metafile?.inputs ?? {};
      const from = new Map<string, string>();
      const missing = AGENT_RUNS.filter((file) => !inputs[file]);
      if (missing.length > 0) return { errors: [{ text: `${missing.join(', ')} not in the agent's program: update AGENT_RUNS in scripts/release/bundle.ts` }] };
      const queue = [...AGENT_RUNS];
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        for (const edge of inputs[file]?.imports ?? []) {
          if (edge.kind === 'dynamic-import' || edge.external || from.has(edge.path)) continue;
          from.set(edge.path, file);
          queue.push(edge.path);
        }
      }
      const hit = [...from.keys()].find((file) => AGENT_LEAVES_OUT.test(file));
      if (hit === undefined) return undefined;
      const path = [hit];
      while (from.has(path[0]) && path.length < 30) path.unshift(from.get(path[0])!);
      return { errors: [{ text: `the agent runs ${hit} at start (${path.join(' -> ')}): load it with import()` }] };
    });
  },
};

// A part runs beside the agent's program, which holds grpc-js already: a part that wants only its
// status codes (csr.ts) gets grpc-js's constants file, not a second copy of all of it.
const grpcStatusOnly: Plugin = {
  name: 'grpc-status-only',
  setup(b) {
    b.onResolve({ filter: /^@grpc\/grpc-js$/ }, () => ({ path: 'grpc-status', namespace: 'grpc-status-only' }));
    b.onLoad({ filter: /.*/, namespace: 'grpc-status-only' }, () => ({
      contents: `export { Status as status } from ${JSON.stringify(join(dirname(fromRepo.resolve('@grpc/grpc-js')), 'constants.js'))};`,
      resolveDir: process.cwd(),
      loader: 'js',
    }));
  },
};

// The SEA main script and the programs it runs (embedded-script.ts): sea-main.cjs, each of
// EMBEDDED_SCRIPTS and each of the agent's parts from its entry.
const outdir = process.argv[2];
if (!outdir) throw new Error('usage: bundle <outdir>');
const entries: Record<string, { entry: string; plugins?: Plugin[] }> = {
  'sea-main.cjs': { entry: 'scripts/release/sea-entry.ts' },
  [EMBEDDED_SCRIPTS.cli]: { entry: 'scripts/release/sea-cli.ts' },
  [EMBEDDED_SCRIPTS.agent]: { entry: 'scripts/release/sea-agent.ts', plugins: [agentParts, agentLeavesOut] },
  ...Object.fromEntries(Object.entries(AGENT_PARTS).map(([file, part]) => [part, { entry: file, plugins: [grpcStatusOnly] }])),
};
// esbuild prints the errors it found, not those of a plugin's onEnd: the message names them all.
// The exit code fails build-binary.sh.
Promise.all(
  Object.entries(entries).map(([name, { entry, plugins = [] }]) =>
    build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: join(outdir, name),
      logLevel: 'warning',
      legalComments: 'none',
      // Whitespace and syntax only: identifiers keep their names, so stack traces stay readable.
      minifyWhitespace: true,
      minifySyntax: true,
      metafile: true,
      plugins: [etcd3Protos, embeddedAddons, zodEnglishOnly, ...plugins],
    }),
  ),
).then(
  () => Object.keys(entries).forEach((name) => refuseWideCharacters(join(outdir, name))),
  (err: Error) => {
    process.stderr.write(`bundle: ${err.message}\n`);
    process.exitCode = 1;
  },
);

// V8 holds a program's source as one string for the life of the process, and sea-entry.ts reads it
// byte for byte (latin1: no UTF-8 decoding pass over 9 MB). A character outside ASCII (esbuild
// leaves regex literals as written) would be garbled there, and one above U+00FF would make all of
// it a two-byte string: 18 MiB instead of 9. Such characters go in the source as \u escapes.
function refuseWideCharacters(file: string): void {
  const text = readFileSync(file, 'utf8');
  let at = 0;
  while (at < text.length && text.charCodeAt(at) < 0x80) at++;
  if (at === text.length) return;
  const line = text.slice(0, at).split('\n').length;
  process.stderr.write(`bundle: ${file} line ${line} has ${JSON.stringify(text[at])} (U+${text.charCodeAt(at).toString(16).toUpperCase()}) in "${text.slice(Math.max(0, at - 60), at + 20)}": write it as a \\u escape in the source\n`);
  process.exitCode = 1;
}
