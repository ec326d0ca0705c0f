// `sfleet deploy render kubernetes`: the brief's scaling: block sizes the StatefulSet, its
// disruption budget and autoscaler; the directory renders with `kubectl kustomize` and validates
// against the Kubernetes schemas; the pods get a configuration the hub accepts, with every ${VAR}
// from the Secret; a literal secret is refused; nothing is written over an existing directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateConfigText } from '../../shared/config/index.js';
import { hubConfigSchema } from '../../hub/config/index.js';
import { findObject, kustomize, schemaCheck } from '../../scripts/release/kubernetes-check.js';
import { renderKubernetes, writeRendered } from './render-kubernetes.js';

const HUB = `region: eu-west
hub_id: hub-a
listen: { grpc: "hub1.company.com:7443", http: "hub1.company.com:8443" }
tls: { ca: /etc/sfleet/ca.pem, cert: /etc/sfleet/hub.pem, key: /etc/sfleet/hub-key.pem }
etcd:
  endpoints: ["https://etcd-0.etcd:2379"]
  username: sfleet-hubs
  password: \${ETCD_PASSWORD}
sso:
  oidc:
    issuer: https://login.company.com
    client_id: fleet
    client_secret: \${OIDC_CLIENT_SECRET}
log_level: \${LOG_LEVEL:-info}
scaling:
  mode: "horizontal"
  min_instances: 2
  max_instances: 10
  target_cpu_utilization: 70
  shared_state:
    backend: "redis"
    url: "redis://redis-cluster.company.com"
`;

function renderTo(text = HUB, opts = { namespace: 'hpc-fleet', image: 'registry.example.org:5000/slurmfleet/sfleet:0.2.0' }) {
  const out = mkdtempSync(join(tmpdir(), 'sfleet-render-'));
  const rendered = renderKubernetes(text, 'hub.yaml', opts);
  writeRendered(rendered, out, true);
  return { out, rendered, objs: kustomize(out) };
}

describe('sfleet deploy render kubernetes', () => {
  it('renders a kustomize directory that validates against the Kubernetes schemas, in the namespace asked for', async () => {
    const { objs } = renderTo();
    expect(objs.length).toBeGreaterThan(8);
    for (const obj of objs) await expect(schemaCheck(obj), `${obj.kind}/${obj.metadata.name}`).resolves.toBeUndefined();
    expect(objs.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'hpc-fleet')).toBe(true);
    expect(findObject(objs, 'Namespace', 'hpc-fleet')).toBeDefined();
    // A registry port is not a tag.
    expect(findObject(objs, 'StatefulSet', 'sfleet-hub').spec.template.spec.containers[0].image).toBe('registry.example.org:5000/slurmfleet/sfleet:0.2.0');
  });

  it('sizes the group from scaling: min_instances hubs, the autoscaler between min and max at the CPU target, a budget of all but one', () => {
    const { objs } = renderTo();
    expect(findObject(objs, 'StatefulSet', 'sfleet-hub').spec.replicas).toBe(2);
    const hpa = findObject(objs, 'HorizontalPodAutoscaler', 'sfleet-hub').spec;
    expect(hpa).toMatchObject({ scaleTargetRef: { kind: 'StatefulSet', name: 'sfleet-hub' }, minReplicas: 2, maxReplicas: 10 });
    expect(hpa.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(hpa.behavior.scaleDown.stabilizationWindowSeconds).toBe(600); // the base's slow scale-down stays
    expect(findObject(objs, 'PodDisruptionBudget', 'sfleet-hub').spec.minAvailable).toBe(1);

    const other = renderTo(HUB.replace('min_instances: 2', 'min_instances: 4').replace('max_instances: 10', 'max_instances: 6').replace('target_cpu_utilization: 70', 'target_cpu_utilization: 55')).objs;
    expect(findObject(other, 'StatefulSet', 'sfleet-hub').spec.replicas).toBe(4);
    expect(findObject(other, 'HorizontalPodAutoscaler', 'sfleet-hub').spec).toMatchObject({ minReplicas: 4, maxReplicas: 6, metrics: [{ resource: { target: { averageUtilization: 55 } } }] });
    expect(findObject(other, 'PodDisruptionBudget', 'sfleet-hub').spec.minAvailable).toBe(3);

    // One hub: a drain may take it (a budget of 1 of 1 would block every node drain).
    const one = renderTo(HUB.replace('min_instances: 2', 'min_instances: 1')).objs;
    expect(findObject(one, 'PodDisruptionBudget', 'sfleet-hub').spec).toMatchObject({ maxUnavailable: 1 });
    expect(findObject(one, 'PodDisruptionBudget', 'sfleet-hub').spec.minAvailable).toBeUndefined();
  });

  it("gives the pods hub.yaml in the pod's layout, accepted by the hub, its Redis from shared_state, each ${VAR} from the Secret", () => {
    const { objs, rendered } = renderTo();
    const text = findObject(objs, 'ConfigMap', 'sfleet-hub-config').data!['hub.yaml'];
    expect(validateConfigText(hubConfigSchema, text, 'pod hub.yaml', { requireEnv: false })).toEqual([]);
    const config = parse(text);
    expect(config.listen).toEqual({ grpc: '0.0.0.0:7443', http: '0.0.0.0:8443' });
    expect(config.tls).toEqual({ ca: '/etc/sfleet/pki/ca.crt', cert: '/etc/sfleet/pki/tls.crt', key: '/etc/sfleet/pki/tls.key' });
    expect(config.data_dir).toBe('/var/lib/sfleet-hub');
    expect(config.hub_id).toBeUndefined(); // each pod is named by its host name
    expect(config.scaling.shared_state.url).toBe('redis://redis-cluster.company.com');
    expect(text).toContain('${OIDC_CLIENT_SECRET}');
    expect(rendered.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^listen\.grpc: hub1\.company\.com:7443 -> 0\.0\.0\.0:7443/), expect.stringMatching(/^hub_id: removed/)]));

    const env = findObject(objs, 'StatefulSet', 'sfleet-hub').spec.template.spec.containers[0].env as { name: string; valueFrom: { secretKeyRef: { name: string; key: string; optional: boolean } } }[];
    const byName = new Map(env.map((e) => [e.name, e.valueFrom.secretKeyRef]));
    expect(byName.get('ETCD_PASSWORD')).toEqual({ name: 'sfleet-hub-secrets', key: 'ETCD_PASSWORD', optional: false });
    expect(byName.get('OIDC_CLIENT_SECRET')).toEqual({ name: 'sfleet-hub-secrets', key: 'OIDC_CLIENT_SECRET', optional: false });
    expect(byName.get('LOG_LEVEL')).toEqual({ name: 'sfleet-hub-secrets', key: 'LOG_LEVEL', optional: true });
    expect(byName.has('SFLEET_REDIS_PASSWORD')).toBe(true); // the base's entry is kept
    expect(rendered.secretKeys.map((k) => k.name)).toEqual(['ETCD_PASSWORD', 'LOG_LEVEL', 'OIDC_CLIENT_SECRET']);
    // A variable named by a *_env key (the hub reads it itself) comes from the Secret too.
    const vault = renderKubernetes(`${HUB}encryption: { vault: { address: "https://vault:8200", key_name: sfleet, token_env: VAULT_TOKEN } }\n`, 'hub.yaml', { namespace: 'x' });
    expect(vault.secretKeys).toContainEqual({ name: 'VAULT_TOKEN', optional: false });
  });

  it('refuses literal secrets (also a password inside a URL), naming each, and writes nothing', () => {
    const literal = HUB.replace('${OIDC_CLIENT_SECRET}', 'hunter2-oidc').replace('"redis://redis-cluster.company.com"', '"redis://:s3cret-redis@redis-cluster.company.com"');
    let message = '';
    try {
      renderKubernetes(literal, 'hub.yaml', { namespace: 'x' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/hub\.yaml holds literal secrets at sso\.oidc\.client_secret, scaling\.shared_state\.url: the rendered ConfigMap would carry them in clear/);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('s3cret');
    // A credential in HTTP headers, and a literal default of a secret's ${VAR}, are secrets in clear too.
    const sms = `${HUB}alerting:\n  channels:\n    - { type: sms, url: "https://sms.example.com/send", headers: { authorization: "Bearer sms-t0ken" }, to: ["+4915112345678"] }\n`;
    expect(() => renderKubernetes(sms, 'hub.yaml', { namespace: 'x' })).toThrow(/literal secrets at alerting\.channels\.0\.headers\.authorization:/);
    expect(() => renderKubernetes(HUB.replace('${OIDC_CLIENT_SECRET}', '${OIDC_CLIENT_SECRET:-fallback-secret}'), 'hub.yaml', { namespace: 'x' })).toThrow(/literal secrets at sso\.oidc\.client_secret:/);
    // A password given as ${VAR} inside the URL is fine.
    expect(() => renderKubernetes(HUB.replace('"redis://redis-cluster.company.com"', '"redis://:${REDIS_PW}@redis-cluster.company.com"'), 'hub.yaml', { namespace: 'x' })).not.toThrow();
  });

  it('refuses a configuration without etcd, an invalid one with every problem, and a non-empty directory without --force', () => {
    expect(() => renderKubernetes('tls: { ca: a, cert: b, key: c }\nscaling: { min_instances: 1, max_instances: 1 }\n', 'hub.yaml', { namespace: 'x' })).toThrow(/hub\.yaml has no etcd section: the hubs of a Kubernetes deployment are a hub group/);
    expect(() => renderKubernetes(HUB.replace('max_instances: 10', 'max_instances: 1'), 'hub.yaml', { namespace: 'x' })).toThrow(/hub\.yaml is not a valid hub configuration:\nhub\.yaml:\d+: scaling\.max_instances: 1 is below min_instances \(2\)/);
    const out = mkdtempSync(join(tmpdir(), 'sfleet-render-'));
    writeFileSync(join(out, 'mine.yaml'), 'kept');
    expect(() => writeRendered(renderKubernetes(HUB, 'hub.yaml', { namespace: 'x' }), out, false)).toThrow(/exists and is not empty/);
    expect(existsSync(join(out, 'kustomization.yaml'))).toBe(false);
    expect(readFileSync(join(out, 'mine.yaml'), 'utf8')).toBe('kept');
  });

  it('the command prints what to create before kubectl apply, naming secret keys and never a value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfleet-render-cli-'));
    writeFileSync(join(dir, 'hub.yaml'), HUB);
    const stdout = execFileSync(process.execPath, ['bin/sfleet.js', 'deploy', 'render', 'kubernetes', '--config', join(dir, 'hub.yaml'), '--out', join(dir, 'k8s')], {
      encoding: 'utf8',
      env: { ...process.env, OIDC_CLIENT_SECRET: 'never-printed' },
    });
    expect(stdout).toContain(`kubectl -n slurmfleet create secret generic sfleet-hub-secrets --from-literal=ETCD_PASSWORD=... --from-literal=LOG_LEVEL=... --from-literal=OIDC_CLIENT_SECRET=...`);
    expect(stdout).toContain(`then: kubectl apply -k ${join(dir, 'k8s')}`);
    expect(stdout).not.toContain('never-printed');
    expect(kustomize(join(dir, 'k8s')).length).toBeGreaterThan(8);
  });
});
