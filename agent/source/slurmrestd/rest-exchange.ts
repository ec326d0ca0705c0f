// The shapes of one exchange with slurmrestd: the request, the answer, and the sink a big body
// streams into. Their own file because both ways of sending share them (transport.ts over Node's
// client, raw-request.ts straight on a socket) and the transport calls raw-request.
export interface RestResponse {
  status: number;
  /** Empty when the server sent none (304). */
  contentType: string;
  text: string;
  endpoint: string;
  /** The body went to the request's sink instead of `text` (empty then). */
  streamed?: boolean;
}

/** Takes a body chunk by chunk; throwing stops the download with that error. */
export interface BodySink {
  /** `chunk` is valid during the call only: its memory takes the next socket read (copy what you keep). */
  write(chunk: Buffer): void;
}

export interface RestRequest {
  method?: 'GET' | 'POST' | 'DELETE';
  /** Absolute path with its query string, e.g. `/slurm/v0.0.41/jobs?update_time=1700000000`. */
  path: string;
  body?: unknown;
  /** Act for this Slurm user (X-SLURM-USER-NAME with the SlurmUser/root token): submit. */
  actAs?: string;
  signal?: AbortSignal;
  /**
   * Requests that belong together (one poll): per endpoint they count as one outcome, the
   * first. Pass the same (initially empty) map to each.
   */
  round?: Map<number, number>;
  /**
   * Called once the status is known; a sink it returns gets the body instead of `text`, with
   * no size cap but its own (big lists: agent/normalize/list-stream.ts).
   */
  sink?: (status: number, contentType: string) => BodySink | undefined;
}
