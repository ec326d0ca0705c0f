// The kustomize base of a hub group (deploy/kubernetes/base) as `sfleet deploy render kubernetes`
// copies it: read beside the source tree or the build, or from the single binary, which carries
// its files as assets named by their path (scripts/release/build-binary.sh).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sea from 'node:sea';
import { parse } from 'yaml';
import { ConfigError } from '../../shared/errors/index.js';

const BASE = 'deploy/kubernetes/base';

/** Every file of the base, by name: its kustomization.yaml and what that names. */
export function kubernetesBase(): Map<string, string> {
  const read = reader();
  const kustomization = read('kustomization.yaml');
  const spec = parse(kustomization) as { resources?: string[]; configMapGenerator?: { files?: string[] }[] };
  const names = [...(spec.resources ?? []), ...(spec.configMapGenerator ?? []).flatMap((g) => g.files ?? [])];
  return new Map([['kustomization.yaml', kustomization], ...names.map((name) => [name, read(name)] as [string, string])]);
}

function reader(): (file: string) => string {
  if (sea.isSea()) {
    return (file) => {
      try {
        return Buffer.from(sea.getAsset(`${BASE}/${file}`)).toString('utf8');
      } catch {
        throw new ConfigError(`this binary carries no ${BASE}/${file}: it was built without the Kubernetes base`);
      }
    };
  }
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 6; i++, dir = dirname(dir)) {
    const base = join(dir, BASE);
    if (existsSync(join(base, 'kustomization.yaml'))) return (file) => readFileSync(join(base, file), 'utf8');
  }
  throw new ConfigError(`${BASE} is not beside this installation: render from a source tree, a build or the single binary`);
}
