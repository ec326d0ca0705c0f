// `sfleet deploy render kubernetes --config hub.yaml --out DIR`: a kustomize directory for the hub
// group that hub.yaml describes. The base (deploy/kubernetes/base) is copied as it is; the overlay
// sets what the configuration decides: the StatefulSet's replicas and the autoscaler's range and
// CPU target from `scaling:`, a disruption budget that keeps all but one hub, the configuration
// itself as the ConfigMap (listeners, certificates and data directory moved to the pod's layout)
// and every ${VAR} it uses as an environment variable from the Secret sfleet-hub-secrets.
// A literal secret in hub.yaml is refused: a ConfigMap is not a place for it.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { ENV_REF, SECRET_KEY, validateConfigText } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { hubConfigSchema, scalingConfigSchema } from '../../hub/config/index.js';
import { kubernetesBase } from './kubernetes-base.js';

export interface RenderOptions {
  namespace: string;
  /** The hub image as repository[:tag]; the base's placeholder `sfleet` when omitted. */
  image?: string;
}

export interface Rendered {
  /** Path (relative to the output directory) -> content. */
  files: Map<string, string>;
  /** The ${VAR}s hub.yaml reads: keys of the Secret sfleet-hub-secrets. */
  secretKeys: { name: string; optional: boolean }[];
  /** What was changed in hub.yaml for the pod, said once each. */
  notes: string[];
}

/** Where the base's StatefulSet puts things (deploy/kubernetes/base/statefulset.yaml). */
const POD = { grpc: '0.0.0.0:7443', http: '0.0.0.0:8443', ca: '/etc/sfleet/pki/ca.crt', cert: '/etc/sfleet/pki/tls.crt', key: '/etc/sfleet/pki/tls.key', dataDir: '/var/lib/sfleet-hub' };
const SECRET = 'sfleet-hub-secrets';
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:([^/@\s]+)@/i;

export function renderKubernetes(text: string, file: string, opts: RenderOptions): Rendered {
  const problems = validateConfigText(hubConfigSchema, text, file, { requireEnv: false });
  if (problems.length > 0) throw new ConfigError(`${file} is not a valid hub configuration:\n${problems.join('\n')}`);
  const doc = parseDocument(text);
  const raw = doc.toJS() as Record<string, unknown>;
  const literal = literalSecrets(raw);
  if (literal.length > 0) {
    throw new ConfigError(`${file} holds literal secrets at ${literal.join(', ')}: the rendered ConfigMap would carry them in clear. Write \${VAR} there and put each value in the Secret ${SECRET} (key VAR)`);
  }
  if (raw.etcd === undefined) throw new ConfigError(`${file} has no etcd section: the hubs of a Kubernetes deployment are a hub group, which needs etcd for membership, leader election and fencing`);
  // Valid as a whole already; without a scaling: section, its defaults (3 to 10 hubs at 70% CPU).
  const scaling = scalingConfigSchema.parse(raw.scaling ?? {});

  const notes: string[] = [];
  const place = (path: string[], value: string): void => {
    const was = doc.getIn(path);
    if (was !== value) notes.push(`${path.join('.')}: ${was === undefined ? 'set to' : `${String(was)} ->`} ${value} (the pod's layout)`);
    doc.setIn(path, value);
  };
  place(['listen', 'grpc'], POD.grpc);
  place(['listen', 'http'], POD.http);
  place(['tls', 'ca'], POD.ca);
  place(['tls', 'cert'], POD.cert);
  place(['tls', 'key'], POD.key);
  place(['data_dir'], POD.dataDir);
  if (doc.hasIn(['hub_id'])) {
    doc.deleteIn(['hub_id']);
    notes.push('hub_id: removed, each hub is named by its pod (sfleet-hub-0, -1, ...)');
  }
  const secretKeys = envReferences(text, raw);

  const files = new Map<string, string>();
  for (const [name, content] of kubernetesBase()) files.set(`base/${name}`, content);
  files.set('hub.yaml', `# ${file} for the pods of the hub group, written by sfleet deploy render kubernetes.\n${doc.toString()}`);
  files.set('namespace.yaml', stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: opts.namespace } }));
  files.set('statefulset-patch.yaml', stringify({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'sfleet-hub' },
    spec: {
      replicas: scaling.min_instances,
      template: { spec: { containers: [{ name: 'hub', env: secretKeys.map((k) => ({ name: k.name, valueFrom: { secretKeyRef: { name: SECRET, key: k.name, optional: k.optional } } })) }] } },
    },
  }));
  files.set('autoscaler-patch.yaml', stringify({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'sfleet-hub' },
    spec: {
      minReplicas: scaling.min_instances,
      maxReplicas: scaling.max_instances,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: scaling.target_cpu_utilization } } }],
    },
  }));
  // A drain takes one hub at a time; a single hub may go (a budget of 1 of 1 would block every drain).
  files.set('disruption-budget-patch.yaml', stringify({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'sfleet-hub' },
    spec: scaling.min_instances > 1 ? { minAvailable: scaling.min_instances - 1 } : { minAvailable: null, maxUnavailable: 1 },
  }));
  const image = opts.image ? imageOf(opts.image) : undefined;
  files.set('kustomization.yaml', `# Rendered from ${file} by sfleet deploy render kubernetes: kubectl apply -k <this directory>\n${stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: opts.namespace,
    resources: ['namespace.yaml', 'base'],
    configMapGenerator: [{ name: 'sfleet-hub-config', behavior: 'replace', files: ['hub.yaml'] }],
    ...(image ? { images: [{ name: 'sfleet', ...image }] } : {}),
    patches: [{ path: 'statefulset-patch.yaml' }, { path: 'autoscaler-patch.yaml' }, { path: 'disruption-budget-patch.yaml' }],
  })}`);
  return { files, secretKeys, notes };
}

/** A value that is one ${VAR} with no literal default: what a secret may be written as here. */
const PURE_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
const REF_WITH_DEFAULT = /\$\{[A-Za-z_][A-Za-z0-9_]*:-[^}]+\}/;

/**
 * Paths holding a secret in clear: under a secret-looking key or in HTTP headers (an
 * Authorization header is a credential whatever its key), a value that is not one ${VAR} (a
 * ${VAR:-default}'s default is a literal too); and URLs with a literal password in them.
 */
function literalSecrets(value: unknown, path: string[] = [], out: string[] = []): string[] {
  if (typeof value === 'string') {
    const key = path.at(-1) ?? '';
    const inUrl = URL_PASSWORD.exec(value);
    const secretPlace = SECRET_KEY.test(key) || path.includes('headers');
    if ((value !== '' && secretPlace && !PURE_REF.test(value)) || (inUrl && !PURE_REF.test(inUrl[1])) || (secretPlace && REF_WITH_DEFAULT.test(value))) out.push(path.join('.'));
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => literalSecrets(v, [...path, String(i)], out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) literalSecrets(v, [...path, k], out);
  }
  return out;
}

/**
 * Each variable the hub reads from its environment, once: the file's ${VAR}s (optional when every
 * use has a default, ${VAR:-x}) and the names given to *_env keys (token_env: VAULT_TOKEN...).
 */
function envReferences(text: string, raw: unknown): { name: string; optional: boolean }[] {
  const found = new Map<string, boolean>();
  for (const m of text.matchAll(new RegExp(ENV_REF.source, 'g'))) {
    const [, name] = /^\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(m[0])!;
    const hasDefault = m[0].includes(':-');
    found.set(name, (found.get(name) ?? true) && hasDefault);
  }
  const named = (value: unknown, key: string): void => {
    if (typeof value === 'string' && /_env$/.test(key) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) found.set(value, false);
    else if (Array.isArray(value)) value.forEach((v) => named(v, key));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) named(v, k);
  };
  named(raw, '');
  return [...found].sort(([a], [b]) => a.localeCompare(b)).map(([name, optional]) => ({ name, optional }));
}

function imageOf(ref: string): { newName: string; newTag?: string } {
  const at = ref.lastIndexOf(':');
  // A colon before the last slash is a registry port, not a tag.
  if (at > ref.lastIndexOf('/')) return { newName: ref.slice(0, at), newTag: ref.slice(at + 1) };
  return { newName: ref };
}

/** Writes the rendered directory; an existing non-empty one only with force (its files replaced). */
export function writeRendered(rendered: Rendered, outDir: string, force: boolean): string[] {
  if (existsSync(outDir) && readdirSync(outDir).length > 0 && !force) throw new ConfigError(`${outDir} exists and is not empty: render into a new directory, or use --force to replace its files`);
  const written: string[] = [];
  for (const [name, content] of rendered.files) {
    const path = join(outDir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    written.push(path);
  }
  return written;
}
