// Jazzer.js 4 ships its libFuzzer addon prebuilt (no download, no compiler) but built against
// glibc 2.38 and GCC 13's libstdc++; Debian 12 has glibc 2.36, and the addon fails to load
// ("version `GLIBC_2.38' not found"). It needs only three symbols from the newer libraries, so
// where it does not load as shipped we:
// - build those three (glibc-compat.cc) into a small library, preloaded into the fuzzer;
// - copy the addon to dist/prebuilds/ (which the loader prefers over prebuilds/, so the
//   package's own file is left as installed) with the two missing version needs marked weak
//   (VER_FLG_WEAK), so the dynamic linker takes the symbols from the preloaded library.
// Newer systems load the shipped addon and none of this happens.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const MISSING_VERSIONS = new Set(['GLIBC_2.38', 'GLIBCXX_3.4.32']);
const SHT_GNU_VERNEED = 0x6ffffffe;
const VER_FLG_WEAK = 0x2;

export interface AddonSetup {
  /** LD_PRELOAD for the fuzzer's process, when the compat library is needed. */
  preload?: string;
  /** What was done, for the run's log. */
  note: string;
}

/** Makes the Jazzer addon loadable here; throws with the reason when it cannot. */
export function prepareAddon(root: string, workDir: string): AddonSetup {
  const pkg = path.join(root, 'node_modules/@jazzer.js/fuzzer');
  const name = `fuzzer-${process.platform}-${process.arch}.node`;
  const shipped = path.join(pkg, 'prebuilds', name);
  const preferred = path.join(pkg, 'dist/prebuilds', name);
  if (!existsSync(shipped)) throw new Error(`no Jazzer.js addon for ${process.platform}-${process.arch} in ${pkg}/prebuilds (is @jazzer.js/core installed?)`);
  if (!existsSync(preferred) && loads(shipped)) return { note: 'the shipped Jazzer.js addon loads as is' };
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`the shipped Jazzer.js addon does not load on ${process.platform}-${process.arch}`);
  const library = path.join(workDir, 'libsfleet-glibc-compat.so');
  const source = path.join(root, 'scripts/fuzz/glibc-compat.cc');
  if (!existsSync(library) || statSync(library).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(workDir, { recursive: true });
    try {
      execFileSync('c++', ['-shared', '-fPIC', '-O2', '-o', library, source, `-Wl,--version-script=${path.join(root, 'scripts/fuzz/glibc-compat.map')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(`the Jazzer.js addon needs glibc 2.38 and building the compat library failed (is a C++ compiler installed? apt-get install g++): ${(err as Error).message}`);
    }
  }
  if (!existsSync(preferred) || statSync(preferred).mtimeMs < statSync(shipped).mtimeMs) {
    mkdirSync(path.dirname(preferred), { recursive: true });
    copyFileSync(shipped, preferred);
    writeFileSync(preferred, weakenVersionNeeds(readFileSync(preferred)));
  }
  if (!loads(preferred, library)) throw new Error(`the Jazzer.js addon does not load even with ${library} preloaded`);
  return { preload: library, note: `the shipped Jazzer.js addon needs glibc 2.38; running it with ${path.basename(library)} (scripts/fuzz/addon-compat.ts)` };
}

function loads(addon: string, preload?: string): boolean {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { env: { ...process.env, ...(preload ? { LD_PRELOAD: preload } : {}) }, stdio: 'ignore' });
  return r.status === 0;
}

/** Sets VER_FLG_WEAK on the ELF64 (little-endian) version needs named in MISSING_VERSIONS. */
export function weakenVersionNeeds(elf: Buffer): Buffer {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not a little-endian ELF64 file');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const section = (i: number): number => shoff + i * shentsize;
  let weakened = 0;
  for (let i = 0; i < elf.readUInt16LE(0x3c); i++) {
    if (elf.readUInt32LE(section(i) + 4) !== SHT_GNU_VERNEED) continue;
    const strings = Number(elf.readBigUInt64LE(section(elf.readUInt32LE(section(i) + 0x28)) + 0x18));
    const text = (at: number): string => elf.toString('latin1', strings + at, elf.indexOf(0, strings + at));
    // Elf64_Verneed {vn_version, vn_cnt, vn_file, vn_aux, vn_next}; Elf64_Vernaux {vna_hash, vna_flags, vna_other, vna_name, vna_next}.
    for (let need = Number(elf.readBigUInt64LE(section(i) + 0x18)); ; ) {
      let aux = need + elf.readUInt32LE(need + 8);
      for (let k = elf.readUInt16LE(need + 2); k > 0; k--) {
        if (MISSING_VERSIONS.has(text(elf.readUInt32LE(aux + 8)))) {
          elf.writeUInt16LE(elf.readUInt16LE(aux + 4) | VER_FLG_WEAK, aux + 4);
          weakened++;
        }
        aux += elf.readUInt32LE(aux + 12);
      }
      const next = elf.readUInt32LE(need + 12);
      if (next === 0) break;
      need += next;
    }
  }
  if (weakened === 0) throw new Error('the addon needs none of the versions the compat library provides');
  return elf;
}
