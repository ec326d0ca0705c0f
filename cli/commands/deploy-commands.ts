// `sfleet deploy render kubernetes --config hub.yaml --out DIR`: the kustomize directory of the
// hub group hub.yaml describes (cli/deploy), and what to create before `kubectl apply -k DIR`.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../../shared/errors/index.js';

export function registerDeployCommands(program: Command): void {
  const deploy = program.command('deploy').description('write what a platform needs to run a hub group');
  const render = deploy.command('render').description('render deployment manifests from a hub configuration');
  render
    .command('kubernetes')
    .description("a kustomize directory for the hub group of hub.yaml: the base's StatefulSet, Services, budget and autoscaler, sized by its scaling: section, with hub.yaml as the ConfigMap and its ${VAR}s from the Secret sfleet-hub-secrets")
    .requiredOption('--config <file>', 'the hub configuration (hub.yaml) the group runs')
    .requiredOption('--out <dir>', 'the directory to write (kubectl apply -k DIR)')
    .option('--namespace <name>', 'the namespace of the group', 'slurmfleet')
    .option('--image <ref>', 'the hub image, repository[:tag] (default: the base\'s placeholder "sfleet")')
    .option('--force', 'replace the files of a non-empty --out')
    .action(async (opts: { config: string; out: string; namespace: string; image?: string; force?: boolean }) => {
      const { renderKubernetes, writeRendered } = await import('../deploy/index.js');
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(opts.namespace)) throw new ConfigError(`--namespace "${opts.namespace}" is not a Kubernetes name (lower-case letters, digits and -)`);
      let text: string;
      try {
        text = readFileSync(opts.config, 'utf8');
      } catch (err) {
        throw new ConfigError(`${opts.config}: cannot read config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const rendered = renderKubernetes(text, opts.config, { namespace: opts.namespace, ...(opts.image ? { image: opts.image } : {}) });
      writeRendered(rendered, opts.out, opts.force === true);
      const lines = [
        `${opts.out}: kustomize directory of the hub group (${rendered.files.size} files)`,
        ...rendered.notes.map((n) => `  hub.yaml ${n}`),
        'before kubectl apply -k:',
        `  kubectl -n ${opts.namespace} create secret generic sfleet-hub-tls --from-file=ca.crt=<fleet CA> --from-file=tls.crt=<hub certificate> --from-file=tls.key=<its key>`,
      ];
      if (rendered.secretKeys.length > 0) {
        lines.push(`  kubectl -n ${opts.namespace} create secret generic sfleet-hub-secrets ${rendered.secretKeys.map((k) => `--from-literal=${k.name}=...`).join(' ')}`);
        const optional = rendered.secretKeys.filter((k) => k.optional).map((k) => k.name);
        if (optional.length > 0) lines.push(`  (optional, hub.yaml has a default: ${optional.join(', ')})`);
      }
      lines.push(`then: kubectl apply -k ${opts.out}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
