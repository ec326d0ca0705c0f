// POST /api/v1/forwarded-commands/:cluster: a hub of the group hands this hub a command for the
// agent it holds (peer-forwarding.ts). Only hub certificates hold hub:forward (role hub_peer),
// and of those only the certificates this region's members name in their etcd records: a hub of
// a peer region (same fleet CA, another group) may not send raw commands to this region's agents.
import type { FastifyInstance } from 'fastify';
import { Command, CommandResult } from '../../generated/fleet/v1/agent.js';
import { BadRequestError, ForbiddenError } from '../../shared/errors/index.js';
import type { CommandRouter } from './command-router.js';
import { AgentNotConnectedError } from './errors.js';
import { FORWARD_PATH } from './peer-forwarding.js';

/** The region's members as etcd lists them (their certificate names); absent: no group, nobody may forward. */
export type GroupMembers = () => Promise<{ items: { hub_id: string; tls_name?: string }[]; error?: string }>;

export function registerForwardRoute(app: FastifyInstance, commands: CommandRouter, members?: GroupMembers): void {
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
      const caller = (request as { principal?: { role: string; name: string } }).principal;
      if (caller?.role !== 'hub') throw new ForbiddenError('only a hub certificate may forward a command');
      if (!members) throw new ForbiddenError('this hub is in no hub group: it takes no forwarded commands');
      const group = await members();
      if (group.error) throw new AgentNotConnectedError(`this hub cannot check its group's membership now (${group.error}); the command was not run`);
      if (!group.items.some((m) => m.tls_name === caller.name)) throw new ForbiddenError(`hub ${caller.name} is not a member of this hub's group: it may not forward commands here`);
      const { cluster } = request.params as { cluster: string };
      const command = Command.fromJSON(request.body);
      if (command.kind <= 0) throw new BadRequestError(`unknown command kind ${JSON.stringify((request.body as { kind: unknown }).kind)}`);
      return CommandResult.toJSON(await commands.runForwarded(cluster, command));
    },
  );
}
