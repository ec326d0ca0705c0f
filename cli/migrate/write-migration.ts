// Writes a migration to a directory: hub.yaml, and per cluster <name>/agent.yaml and
// <name>/agent.env (0600: it holds the token). Every YAML written is checked with the same
// validation `sfleet config validate` runs before the command says it is done.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError } from '../../shared/errors/index.js';
import type { Migration } from './s9s-to-fleet.js';

export interface WrittenMigration {
  files: string[];
  /** validate's findings per written file: empty when every file is valid. */
  problems: string[];
}

function header(lines: string[]): string {
  return `${lines.map((l) => `# ${l}`).join('\n')}\n`;
}

function writeNew(path: string, text: string, mode: number, overwrite: boolean): void {
  if (!overwrite && existsSync(path)) throw new ConfigError(`${path} exists: migrate does not overwrite (use --force)`);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode); // an existing file keeps its old mode through writeFileSync
}

export async function writeMigration(m: Migration, dir: string, source: string, overwrite: boolean): Promise<WrittenMigration> {
  const { validateConfigText } = await import('../../shared/config/index.js');
  const { hubConfigSchema } = await import('../../hub/config/index.js');
  const { agentConfigSchema } = await import('../../agent/config/index.js');
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const problems: string[] = [];

  const hubPath = join(dir, 'hub.yaml');
  const hubText = header([`slurmfleet hub, migrated from ${source} by sfleet config migrate.`, ...(m.hubNotes ?? ['Bind people to the s9s_* roles under rbac.bindings.'])]) + stringify(m.hub, { aliasDuplicateObjects: false });
  writeNew(hubPath, hubText, 0o644, overwrite);
  files.push(hubPath);
  if (m.hubEnvLines) {
    const envPath = join(dir, 'hub.env');
    writeNew(envPath, `${m.hubEnvLines.join('\n')}\n`, 0o600, overwrite);
    files.push(envPath);
  }
  problems.push(...validateConfigText(hubConfigSchema, hubText, hubPath, { requireEnv: false }));

  for (const agent of m.agents) {
    const agentDir = join(dir, agent.cluster);
    mkdirSync(agentDir, { recursive: true });
    const yamlPath = join(agentDir, 'agent.yaml');
    const text = header([`slurmfleet agent of cluster ${agent.cluster}, migrated from ${source}.`, 'Install as /etc/sfleet/agent.yaml on its head node, agent.env beside it as /etc/sfleet/agent.env.']) + stringify(agent.config, { aliasDuplicateObjects: false });
    writeNew(yamlPath, text, 0o644, overwrite);
    const envPath = join(agentDir, 'agent.env');
    writeNew(envPath, `${agent.envLines.join('\n')}\n`, 0o600, overwrite);
    files.push(yamlPath, envPath);
    problems.push(...validateConfigText(agentConfigSchema, text, yamlPath, { requireEnv: false }));
  }
  return { files, problems };
}
