// Checks of rendered Kubernetes manifests, shared by the tests of deploy/kubernetes and of
// `sfleet deploy render kubernetes`: `kubectl kustomize` as on this machine (kubectl is part of
// its image: a missing one fails, it is never skipped), and each document validated against the
// Kubernetes API schemas (kubernetes-models) or the Prometheus operator's (ServiceMonitor).
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- each kind's own shape, checked by schemaCheck
  data?: Record<string, string>;
}

export function kustomize(dir: string): K8sObject[] {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`kubectl kustomize ${dir} failed (kubectl is part of this machine's image): ${(err as { stderr?: string }).stderr || (err as Error).message}`);
  }
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
}

export async function schemaCheck(obj: K8sObject): Promise<void> {
  const module = obj.apiVersion === 'monitoring.coreos.com/v1' ? await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1') : await import(`kubernetes-models/${obj.apiVersion}`);
  const Model = (module as Record<string, new (o: unknown) => { validate(): void }>)[obj.kind];
  if (!Model) throw new Error(`${obj.kind} ${obj.apiVersion}: no schema to check it against`);
  new Model(obj).validate();
}

export function findObject(objs: K8sObject[], kind: string, name: string): K8sObject {
  const obj = objs.find((o) => o.kind === kind && o.metadata.name.startsWith(name));
  if (!obj) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return obj;
}
