// Real filesystems that fail on purpose, for storage-fault tests (root only): a small tmpfs that
// fills up (ENOSPC), ext4 on a loop device that is turned read-only under a running process
// (EROFS), and faultfs (FUSE) that fails or delays write/fsync on chosen paths (EIO, slow disk).
// Each mount is undone by cleanup(), also after a failed test.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execText as exec } from './exec.js';
import { FaultFs } from './faultfs.js';

const execText = (file: string, args: string[]): Promise<string> => exec(file, args, { env: process.env, timeoutMs: 60_000 });

export interface Ext4Mount {
  dir: string;
  /** Turns the filesystem read-only under its users (EROFS on every write). */
  fail(): Promise<void>;
  /** Unmounts it and mounts a checked copy in its place, writable. */
  repair(): Promise<void>;
}

export class FaultMounts {
  private readonly undo: Array<() => Promise<unknown>> = [];

  constructor(private readonly work: string) {}

  /** A tmpfs of `sizeKb` KiB at work/<name>. */
  async tmpfs(name: string, sizeKb: number): Promise<string> {
    const dir = join(this.work, name);
    mkdirSync(dir, { recursive: true });
    await execText('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0700`, 'tmpfs', dir]);
    this.undo.push(() => execText('umount', ['-l', dir]));
    return dir;
  }

  /** Fills the filesystem of `dir` until it refuses (ENOSPC); returns the filler to delete. */
  fill(dir: string): string {
    const filler = join(dir, 'filler');
    const block = Buffer.alloc(4096, 1);
    for (let i = 0; ; i++) {
      try {
        writeFileSync(filler, block, { flag: i === 0 ? 'w' : 'a' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return filler;
        throw err;
      }
    }
  }

  /** ext4 of `sizeMb` MiB on a loop device at work/<name>, mounted with errors=remount-ro. */
  async ext4(name: string, sizeMb: number): Promise<Ext4Mount> {
    const image = join(this.work, `${name}.img`);
    const dir = join(this.work, name);
    mkdirSync(dir, { recursive: true });
    await execText('truncate', ['-s', `${sizeMb}M`, image]);
    await execText('mkfs.ext4', ['-q', '-F', image]);
    const device = (await execText('losetup', ['--find', '--show', image])).trim();
    this.undo.push(() => execText('losetup', ['-d', device]));
    await execText('mount', ['-o', 'errors=remount-ro', device, dir]);
    this.undo.push(() => execText('umount', ['-l', dir]));
    return {
      dir,
      // What a failing disk does: ext4 records an error and (errors=remount-ro) turns read-only,
      // open files and all (`mount -o remount,ro` would refuse while a file is open for writing).
      fail: async () => {
        writeFileSync(`/sys/fs/ext4/${basename(device)}/trigger_fs_error`, '1');
      },
      // The kernel keeps that filesystem read-only as long as anything holds it (the process
      // still has its files open), so the repair an operator makes is a new mount: unmount
      // (lazily), fsck a copy of the disk and mount that, writable, at the same place.
      repair: async () => {
        await execText('umount', ['-l', dir]);
        const copy = `${image}.repaired`;
        copyFileSync(image, copy);
        await execText('e2fsck', ['-f', '-y', copy]).catch(() => {}); // exit 1: errors fixed
        const repaired = (await execText('losetup', ['--find', '--show', copy])).trim();
        this.undo.push(() => execText('losetup', ['-d', repaired]));
        await execText('mount', ['-o', 'errors=remount-ro', repaired, dir]);
        this.undo.push(() => execText('umount', ['-l', dir]));
      },
    };
  }

  /** faultfs at work/<name> (or `at`) over work/<name>.backing (scripts/faultfs): no faults until set(). */
  async faultfs(name: string, at = join(this.work, name)): Promise<FaultFs> {
    const fs = new FaultFs(at, join(this.work, `${name}.backing`), join(this.work, `${name}.rules`), join(this.work, `${name}.faultfs.log`));
    this.undo.push(() => fs.unmount());
    return fs.mount();
  }

  async cleanup(): Promise<void> {
    for (const u of this.undo.reverse()) await u().catch(() => {});
    this.undo.length = 0;
    rmSync(this.work, { recursive: true, force: true });
  }
}
