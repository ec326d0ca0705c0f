// The config loader (shared/config/load.ts) with the hub's and the agent's schemas: any text, any
// --set override. A frozen config or ConfigError naming where; never another exception, and
// Object.prototype stays clean (an override walks a key path).
import { agentConfigSchema } from '../../../agent/config/index.js';
import { hubConfigSchema } from '../../../hub/config/index.js';
import { parseConfigText } from '../../../shared/config/index.js';
import { answersOrRefuses, splitInput } from '../invariant.js';

const ENV = { SFLEET_TOKEN: 'fuzz-token', HOME: '/nonexistent' };

export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const schema = (data[0] & 1) === 0 ? hubConfigSchema : agentConfigSchema;
  const [text, override] = splitInput(data.subarray(1), 2);
  const overrides = (data[0] & 2) === 0 || override.length === 0 ? [] : [override.toString('utf8')];
  answersOrRefuses(() => parseConfigText(schema, (overrides.length ? text : Buffer.concat([text, override])).toString('utf8'), 'fuzz.yaml', { overrides, env: ENV }));
  if (({} as Record<string, unknown>).polluted !== undefined || Object.keys(Object.prototype).length > 0) throw new Error('Object.prototype was written to');
}
