// Native addons inside the single binary (DuckDB for the job history): the build stores each
// addon's files Brotli-compressed as SEA assets with their SHA-256 (native/manifest.json); the first use
// extracts them into a private cache, checks every checksum, and loads the addon from there.
// A file that does not match (a partial write, a change on disk) is never loaded: it is
// extracted again. Bundled into the binary by bundle.ts in place of the addon's require().
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';

interface AddonManifest {
  /** Loaded with process.dlopen; the others sit beside it (RUNPATH $ORIGIN). */
  main: string;
  files: { name: string; sha256: string }[];
}

type Sea = { getAsset(key: string): ArrayBuffer };

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** systemd gives services a state directory; people have a cache; anything else has /tmp. */
function cacheRoot(): string {
  const env = process.env;
  if (env.SFLEET_NATIVE_CACHE) return env.SFLEET_NATIVE_CACHE;
  if (env.STATE_DIRECTORY) return join(env.STATE_DIRECTORY.split(':')[0]!, 'native');
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'sfleet', 'native');
  const home = homedir();
  return home && home !== '/' ? join(home, '.cache', 'sfleet', 'native') : join(tmpdir(), `sfleet-native-${process.getuid?.() ?? 0}`);
}

function intact(dir: string, manifest: AddonManifest): boolean {
  return manifest.files.every((f) => existsSync(join(dir, f.name)) && sha256(readFileSync(join(dir, f.name))) === f.sha256);
}

export function loadEmbeddedAddon(name: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- node:sea exists only where this runs: inside the binary.
  const sea = require('node:sea') as Sea;
  const manifest = JSON.parse(Buffer.from(sea.getAsset(`native/${name}/manifest.json`)).toString('utf8')) as AddonManifest;
  const version = sha256(Buffer.from(JSON.stringify(manifest.files))).slice(0, 16);
  const dir = join(cacheRoot(), `${name}-${version}`);
  if (!intact(dir, manifest)) {
    const staging = `${dir}.${process.pid}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    for (const f of manifest.files) {
      const data = brotliDecompressSync(Buffer.from(sea.getAsset(`native/${name}/${f.name}.br`)));
      if (sha256(data) !== f.sha256) throw new Error(`the binary's embedded ${name}/${f.name} does not match its checksum: the binary is damaged`);
      writeFileSync(join(staging, f.name), data, { mode: 0o500 });
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    if (!intact(dir, manifest)) throw new Error(`${dir}: the extracted ${name} files do not match their checksums (disk full or changed under us?)`);
  }
  const module = { exports: {} as unknown };
  process.dlopen(module, join(dir, manifest.main));
  return module.exports;
}
