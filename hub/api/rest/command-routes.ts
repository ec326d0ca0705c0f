// POST /api/v1/{jobs,nodes}/:cluster/:target/<command>: one route per command, run through the
// cluster's agent. Under a row filter the target must be visible first (checkCommandTarget).
import type { FastifyInstance } from 'fastify';
import { commandKey, JOB_COMMANDS, NODE_COMMANDS } from '../../commands/index.js';
import { checkCommandTarget } from '../visible-queries.js';
import { str } from './query-schemas.js';
import { access, principal } from './request-access.js';
import { commandResultSchema } from './response-schemas.js';
import type { RouteDeps } from './route-deps.js';

interface CommandTarget {
  resource: 'jobs' | 'nodes';
  noun: string;
  commands: readonly string[];
  /** The path parameter that names the target, and its schema. */
  param: string;
  paramSchema: object;
}

export const JOB_TARGET: CommandTarget = { resource: 'jobs', noun: 'job', commands: JOB_COMMANDS, param: 'id', paramSchema: { type: 'string', pattern: '^[0-9]{1,12}$' } };
export const NODE_TARGET: CommandTarget = { resource: 'nodes', noun: 'node', commands: NODE_COMMANDS, param: 'name', paramSchema: str };

export function registerCommandRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'state' | 'commands'>, target: CommandTarget): void {
  const { state, commands } = deps;
  const { resource, noun, param } = target;

  for (const name of target.commands) {
    app.post(
      `/api/v1/${resource}/:cluster/:${param}/${name}`,
      {
        config: { permission: `${resource}:${name}` },
        schema: {
          summary: `${name[0].toUpperCase()}${name.slice(1)} a ${noun} through its cluster's agent`,
          params: { type: 'object', properties: { cluster: str, [param]: target.paramSchema } },
          headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', maxLength: 128 } } },
          body: { type: ['object', 'null'], properties: { reason: { type: 'string', maxLength: 1024 } } },
          response: { 200: commandResultSchema },
        },
      },
      async (request) => {
        const params = request.params as Record<string, string>;
        const cluster = params.cluster;
        const id = params[param];
        const reason = (request.body as { reason?: string } | null)?.reason ?? '';
        checkCommandTarget(state, access(request), resource, name, cluster, id);
        // A repeated Idempotency-Key (a client retry) gets the first result from the agent.
        const header = request.headers['idempotency-key'];
        const key = commandKey(principal(request).name, cluster, name, id, typeof header === 'string' ? header : undefined);
        const result = await commands.run(cluster, name, id, reason, principal(request).name, key);
        return { ok: result.ok, message: result.message, via: result.via };
      },
    );
  }
}
