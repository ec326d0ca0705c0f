// Why a command for a cluster's agent did not run, or did not say it ran.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError, UnavailableError } from '../../shared/errors/index.js';

/** Slurm refused the command (unknown job, invalid state, permission): its own words are the message. */
export class SlurmRefusedError extends FleetError {
  constructor(message: string) {
    super('SF_SLURM_COMMAND_FAILED', message, 422, GrpcStatus.FAILED_PRECONDITION);
  }
}

/** No agent of the cluster is connected to this hub, or it went away before answering. */
export class AgentNotConnectedError extends UnavailableError {
  constructor(message: string) {
    super('SF_AGENT_NOT_CONNECTED', message);
  }
}

/** The agent took the command but did not answer in time: it may still have run. */
export class AgentCommandTimeoutError extends FleetError {
  constructor(message: string) {
    super('SF_AGENT_COMMAND_TIMEOUT', message, 504, GrpcStatus.DEADLINE_EXCEEDED);
  }
}
