// docs/config.md: the hub's and the agent's config files, one table each, from their schemas.
import { agentConfigSchema } from '../../agent/config/index.js';
import { hubConfigSchema } from '../../hub/config/index.js';
import { renderConfigTable } from './config-doc.js';

export const CONFIG_SCHEMAS = { hub: hubConfigSchema, agent: agentConfigSchema } as const;

export function renderConfigDoc(): string {
  return [
    '# Configuration',
    '',
    '<!-- Generated from the config schemas (hub/config/schema.ts, agent/config/schema.ts and the sections they compose) by `npm run docs`: edit the schemas, not this file. -->',
    '',
    'Config files are YAML. A value may name environment variables as `${NAME}` or `${NAME:-default}`,',
    'and `--set key.path=value` overrides a key. Durations are written as `250ms`, `10s`, `5m`, `12h`,',
    '`30d` or a number of seconds; sizes as `64MiB`, `1GiB` or a number of bytes. Unknown keys are',
    'errors, and every error names the file, the line and the key. Examples: deploy/examples/.',
    '',
    'In the paths, `[]` is each element of a list, `[type=x]` each element whose `type` is x, and',
    '`<name>` a key of your choosing.',
    '',
    '## Hub',
    '',
    ...renderConfigTable(hubConfigSchema),
    '',
    '## Agent',
    '',
    ...renderConfigTable(agentConfigSchema),
  ].join('\n') + '\n';
}
