// The gRPC twin of REST's x-request-id: every FleetService call gets one id, the caller's own
// `x-request-id` metadata when it is short and plain, else a new UUID. It is written back into the
// call's metadata, so the gate's refusals, the audit record and the call's span all read the same
// id, and it goes out with the answer (in the headers, or the trailers of an answer that is only a
// status, a refusal included). First of the server's interceptors: it sees the metadata before the
// gate does.
import { randomUUID } from 'node:crypto';
import { Metadata, ServerInterceptingCall, ServerListenerBuilder, type ServerInterceptor } from '@grpc/grpc-js';

const FLEET_SERVICE_PREFIX = '/fleet.v1.FleetService/';
/** The same rule as REST (rest/request-trace.ts): the id lands in logs and audit records. */
const SANE_ID = /^[\w.:-]{1,128}$/;

export function requestIdInterceptor(): ServerInterceptor {
  return (method, call) => {
    if (!method.path.startsWith(FLEET_SERVICE_PREFIX)) return new ServerInterceptingCall(call);
    let id: string | undefined;
    let headersSent = false;
    return new ServerInterceptingCall(call, {
      start(next) {
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, onMetadata) => {
              const given = metadata.get('x-request-id')[0];
              id = typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
              metadata.set('x-request-id', id);
              onMetadata(metadata);
            })
            .build(),
        );
      },
      sendMetadata(metadata, next) {
        headersSent = true;
        if (id) metadata.set('x-request-id', id);
        next(metadata);
      },
      sendStatus(status, next) {
        if (!id || headersSent) return next(status);
        const metadata = status.metadata ?? new Metadata();
        metadata.set('x-request-id', id);
        next({ ...status, metadata });
      },
    });
  };
}
