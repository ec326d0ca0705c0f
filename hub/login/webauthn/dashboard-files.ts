// Where the dashboard's files (web/ at the repository root) come from. A source tree or a build
// reads web/ beside it; the single binary (Node SEA) carries them as assets named "web/<file>"
// (scripts/release/build-binary.sh), as it has no tree around it (and no import.meta.url).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sea from 'node:sea';

/** Reads one file of web/ by name; absent when the files are not installed. */
export type DashboardFiles = (file: string) => Buffer;

export function dashboardFiles(): DashboardFiles | undefined {
  if (sea.isSea()) return hasAsset('web/login.html') ? (file) => Buffer.from(sea.getAsset(`web/${file}`)) : undefined;
  const web = webDir();
  return web ? (file) => readFileSync(join(web, file)) : undefined;
}

/** web/ beside the source tree (hub/login/webauthn) or the build (dist/hub/login/webauthn). */
export function webDir(start = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = start, i = 0; i < 6; i++, dir = dirname(dir)) if (existsSync(join(dir, 'web', 'login.html'))) return join(dir, 'web');
  return undefined;
}

function hasAsset(key: string): boolean {
  try {
    sea.getAsset(key);
    return true;
  } catch {
    return false;
  }
}
