// POST /api/v1/forwarded-commands/:cluster: a hub of the group hands this hub a command for the
// agent it holds (peer-forwarding.ts). Only hub certificates hold hub:forward (role hub_peer).
import type { FastifyInstance } from 'fastify';
import { Command, CommandResult } from '../../generated/fleet/v1/agent.js';
import { BadRequestError, ForbiddenError } from '../../shared/errors/index.js';
import type { CommandRouter } from './command-router.js';
import { FORWARD_PATH } from './peer-forwarding.js';

export function registerForwardRoute(app: FastifyInstance, commands: CommandRouter): void {
  app.post(
    `${FORWARD_PATH}/:cluster`,
    {
      config: { permission: 'hub:forward' },
      schema: {
        summary: "A command another hub of the group forwards to the cluster's agent on this hub; the agent's result",
        params: { type: 'object', properties: { cluster: { type: 'string', minLength: 1, maxLength: 256 } } },
        body: { type: 'object', required: ['id', 'kind'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 }, kind: { type: 'string' } }, additionalProperties: true },
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async (request) => {
      // hub:forward is hub_peer's; a person's role granting hub:* must not send raw commands past their own checks.
      if ((request as { principal?: { role: string } }).principal?.role !== 'hub') throw new ForbiddenError('only a hub certificate may forward a command');
      const { cluster } = request.params as { cluster: string };
      const command = Command.fromJSON(request.body);
      if (command.kind <= 0) throw new BadRequestError(`unknown command kind ${JSON.stringify((request.body as { kind: unknown }).kind)}`);
      return CommandResult.toJSON(await commands.runForwarded(cluster, command));
    },
  );
}
