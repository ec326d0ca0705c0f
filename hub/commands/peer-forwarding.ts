// Commands in a hub group: a command for a cluster whose active agent streams to another hub of
// the region is handed to that hub (its owner in etcd, its URL in the membership list) over
// mTLS with this hub's certificate, idempotency key included, and the agent's raw result comes
// back; the caller was authorized here, before forwarding. The receiving hub sends it to its own
// agent only (CommandRouter.runForwarded), so a stale owner record cannot make a loop. A forward
// whose connection breaks (the answer may be lost after the agent ran it) is sent again with the
// same idempotency key, and the agent answers the repeat with its first result.
import { Command, CommandResult } from '../../generated/fleet/v1/agent.js';
import { BadRequestError } from '../../shared/errors/index.js';
import type { TlsMaterial } from '../../shared/tls/index.js';
import { postToPeer, PeerTimeoutError } from '../peers/index.js';
import type { CommandForwarding } from './command-router.js';
import { AgentCommandTimeoutError, AgentNotConnectedError } from './errors.js';

/** The path a hub forwards a command to (POST, permission hub:forward). */
export const FORWARD_PATH = '/api/v1/forwarded-commands';
const MAX_ANSWER = 16 * 1024 * 1024;
/** Sends of one keyed command when the connection breaks (a command without a key is sent once). */
const SENDS = 3;

export interface PeerForwardingDeps {
  hubId: string;
  /** The hub holding the cluster's active agent (etcd ownership), or null. */
  owner: (cluster: string) => string | null;
  /** The region's members and their API URLs. */
  members: () => Promise<{ items: { hub_id: string; http_url: string }[] }>;
  /** This hub's certificate: the peer knows it as a hub. */
  tls: TlsMaterial;
}

export class PeerForwarding implements CommandForwarding {
  constructor(private readonly deps: PeerForwardingDeps, private readonly opts: { timeoutMs: number }) {}

  async forward(cluster: string, command: Command): Promise<CommandResult> {
    const hub = this.deps.owner(cluster);
    if (!hub || hub === this.deps.hubId) throw new AgentNotConnectedError(`no agent of cluster ${cluster} is connected to this hub group`);
    const member = (await this.deps.members()).items.find((m) => m.hub_id === hub);
    if (!member) throw new AgentNotConnectedError(`hub ${hub} holds the agent of cluster ${cluster} but is not in the membership list`);
    const url = new URL(`${FORWARD_PATH}/${encodeURIComponent(cluster)}`, member.http_url);
    const sends = command.idempotency_key ? SENDS : 1;
    let answer: { status: number; text: string } | undefined;
    for (let sent = 1; !answer; sent++) {
      answer = await this.post(url, Command.toJSON(command)).catch(async (err: Error) => {
        // No answer in time: the command may be running there (a submit keeps its quota reservation), so it is not sent again.
        if (err instanceof PeerTimeoutError) throw new AgentCommandTimeoutError(`hub ${hub}, which holds the agent of cluster ${cluster}, did not answer: ${err.message}`);
        if (sent >= sends) throw new AgentNotConnectedError(`hub ${hub}, which holds the agent of cluster ${cluster}, cannot be reached: ${err.message}`);
        await new Promise((r) => setTimeout(r, 100 * sent));
        return undefined;
      });
    }
    const { status, text } = answer;
    if (status === 200) return CommandResult.fromJSON(JSON.parse(text));
    let detail = `HTTP ${status}`;
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? detail;
    } catch {
      // keep the status
    }
    if (status === 504) throw new AgentCommandTimeoutError(detail);
    if (status === 400) throw new BadRequestError(detail);
    throw new AgentNotConnectedError(`hub ${hub} could not pass the command to the agent of cluster ${cluster}: ${detail}`);
  }

  /** One POST under the command timeout (plus a second for the hop); rejects on network and TLS failures. */
  private async post(url: URL, body: unknown): Promise<{ status: number; text: string }> {
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    const a = await postToPeer(url, { tls: this.deps.tls, headers, body: Buffer.from(JSON.stringify(body)), timeoutMs: this.opts.timeoutMs + 1_000, maxAnswer: MAX_ANSWER });
    return { status: a.status, text: a.body };
  }
}
