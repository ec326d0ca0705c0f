// deploy/kubernetes as `kubectl kustomize` renders it (kubectl is on this machine kind's image:
// no skip when it is missing, the test fails saying so), every document validated against the
// Kubernetes API schemas (kubernetes-models) and the Prometheus operator's (ServiceMonitor),
// and the properties a hub group relies on: three hubs spread over nodes, a disruption budget
// that keeps a majority, probes on /healthz and /readyz, TLS passed through at L4 (no Ingress,
// no session affinity), the HPA of the brief's scaling block, the config the hubs read valid.
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../shared/config/index.js';
import { hubConfigSchema } from '../../hub/config/index.js';
import { findObject as find, kustomize, schemaCheck, type K8sObject } from './kubernetes-check.js';

const rendered = new Map<string, K8sObject[]>();

function render(overlay: string): K8sObject[] {
  if (!rendered.has(overlay)) rendered.set(overlay, kustomize(`deploy/kubernetes/overlays/${overlay}`));
  return structuredClone(rendered.get(overlay)!);
}

describe('Kubernetes manifests (kustomize)', () => {
  for (const overlay of ['group', 'group-bundled']) {
    it(`${overlay}: renders, and every document validates against its API schema`, async () => {
      const objs = render(overlay);
      expect(objs.length).toBeGreaterThan(8);
      for (const obj of objs) await expect(schemaCheck(obj), `${obj.kind}/${obj.metadata.name}`).resolves.toBeUndefined();
      expect(objs.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'slurmfleet')).toBe(true);
    });
  }

  it('a schema check would catch a broken manifest', async () => {
    await expect(schemaCheck({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' }, spec: { replicas: 'three', selector: {}, serviceName: 'x', template: {} } })).rejects.toThrow(/replicas must be integer/);
  });

  it('runs three hubs on three nodes, keeps a majority through drains, and probes health and readiness', () => {
    const objs = render('group');
    const hubs = find(objs, 'StatefulSet', 'sfleet-hub');
    expect(hubs.spec.replicas).toBe(3);
    const pod = hubs.spec.template.spec;
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
    const hub = pod.containers[0];
    expect(hub.image).toBe('registry.example.org/slurmfleet/sfleet:0.1.0');
    expect(hub.livenessProbe.httpGet).toMatchObject({ path: '/healthz', scheme: 'HTTPS' });
    expect(hub.readinessProbe.httpGet).toMatchObject({ path: '/readyz', scheme: 'HTTPS' });
    expect(hub.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(find(objs, 'PodDisruptionBudget', 'sfleet-hub').spec.minAvailable).toBe(2);
    // The PDB, the Services and the StatefulSet select the same pods.
    const podLabels = hubs.spec.template.metadata.labels;
    expect(find(objs, 'PodDisruptionBudget', 'sfleet-hub').spec.selector.matchLabels).toEqual(hubs.spec.selector.matchLabels);
    for (const [k, v] of Object.entries(find(objs, 'Service', 'sfleet-hub').spec.selector as Record<string, string>)) expect(podLabels[k]).toBe(v);
  });

  it('passes TLS through at L4: no Ingress, no session affinity, both ports on the Service', () => {
    const objs = render('group-bundled');
    expect(objs.some((o) => o.kind === 'Ingress')).toBe(false);
    const svc = find(objs, 'Service', 'sfleet-hub');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.sessionAffinity).toBe('None');
    expect(svc.spec.ports.map((p: { port: number }) => p.port).sort()).toEqual([7443, 8443]);
  });

  it("scales on CPU as the brief's scaling block says, slowly down", () => {
    const hpa = find(render('group'), 'HorizontalPodAutoscaler', 'sfleet-hub');
    expect(hpa.spec).toMatchObject({ scaleTargetRef: { kind: 'StatefulSet', name: 'sfleet-hub' }, minReplicas: 3, maxReplicas: 10 });
    expect(hpa.spec.metrics[0].resource.target.averageUtilization).toBe(70);
  });

  it('gives the hubs a configuration they accept, naming the bundled etcd and Redis', () => {
    for (const overlay of ['group', 'group-bundled']) {
      const objs = render(overlay);
      const config = find(objs, 'ConfigMap', 'sfleet-hub-config').data!['hub.yaml'];
      expect(validateConfigText(hubConfigSchema, config, `${overlay} hub.yaml`, { requireEnv: false })).toEqual([]);
      expect(config).toMatch(/sfleet-etcd-0\.sfleet-etcd:2379/);
      if (overlay === 'group-bundled') {
        expect(find(objs, 'StatefulSet', 'sfleet-etcd').spec.replicas).toBe(3);
        expect(find(objs, 'StatefulSet', 'sfleet-redis').spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(['noeviction']));
      }
    }
  });
});
