// The etcd client with the fault handling tuned for leadership. The etcd3 defaults (a circuit
// breaker that opens for 5 s after 3 failures per host, 3 retries, no deadline on calls) stall
// writes for about 7 s when the etcd raft leader dies; here every unary call has a deadline,
// a failed host is skipped for breaker_reset only, and a retry goes to another member.
// etcd3 is loaded only when a hub has etcd: it parses its .proto files from beside its own
// package when loaded (the single binary has them built in: scripts/release/bundle.ts).
import { readFileSync } from 'node:fs';
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, type IBackoff } from 'cockatiel';
import type { Etcd3 } from 'etcd3';
import type { EtcdConfig } from './config.js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { withoutIpServername } from '../../shared/tls/credentials.js';
import { isEtcdNoSpace } from './etcd-space.js';

export async function createEtcdClient(config: EtcdConfig): Promise<Etcd3> {
  const { Etcd3, isRecoverableError, RecoverableError } = await import('etcd3');
  const secure = config.endpoints.some((e) => e.startsWith('https://'));
  // etcd3 counts RESOURCE_EXHAUSTED as recoverable, and etcd answers every write with it while
  // its NOSPACE alarm is raised: retried and counted, those refusals opened the breaker, which
  // then refused the reads and keep-alives that still work. A member out of space is not down.
  const recoverable = (err: Error): boolean => isRecoverableError(err) && !isEtcdNoSpace(err);
  const client = new Etcd3({
    hosts: [...config.endpoints],
    dialTimeout: config.dial_timeout,
    // etcd auth: the user's role should reach only config.prefix (docs/operator-guide.md).
    ...(config.username && config.password ? { auth: { username: config.username, password: config.password } } : {}),
    ...(secure && config.tls
      ? {
          credentials: {
            rootCertificate: readFileSync(config.tls.ca),
            certChain: readFileSync(config.tls.cert),
            privateKey: readFileSync(config.tls.key),
          },
        }
      : {}),
    // Streams (watch, lease keepalive) live long; every other call gets the deadline.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + config.call_timeout }),
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(recoverable), {
          halfOpenAfter: config.breaker_reset,
          breaker: new ConsecutiveBreaker(config.breaker_failures),
        }),
      global: retry(handleWhen(recoverable), {
        maxAttempts: 2,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 250 }),
      }),
      // etcd3 calls next() on this itself: it wants the factory, whatever its type says.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }) as unknown as IBackoff<unknown>,
    },
    grpcOptions: {
      // A dead member is noticed by keepalive, not by the OS after minutes.
      'grpc.keepalive_time_ms': 2_000,
      'grpc.keepalive_timeout_ms': 1_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
    },
  });
  // etcd3 builds its own grpc credentials (createSsl, no way to pass a server name), so an
  // https://<IP> endpoint sent the IP as TLS server name and Node printed DEP0123 on every
  // connect. The one credentials object of its hosts gets shared/tls's fix (the certificate is
  // still checked against the IP); test/secured-services.test.ts fails if the warning comes back.
  if (secure) {
    const hosts = (client as unknown as { pool?: { hosts?: { channelCredentials?: ChannelCredentials }[] } }).pool?.hosts ?? [];
    for (const creds of new Set(hosts.map((h) => h.channelCredentials))) if (creds) withoutIpServername(creds);
  }
  keepChannelsOnNoSpace(client, RecoverableError);
  return client;
}

interface PoolInternals {
  withConnection: (service: string, fn: (args: unknown) => Promise<unknown>, ...rest: unknown[]) => Promise<unknown>;
  markFailed: (resource: unknown, error: Error) => void;
}

/**
 * etcd3's pool closes every channel of a host after any error it marks recoverable, and it marks
 * RESOURCE_EXHAUSTED so. While etcd's NOSPACE alarm is raised every write is refused that way, and
 * each refusal closed the hub's channels: its watches, its lease keep-alive and every call in
 * flight ended with "14 UNAVAILABLE: Connection dropped", and those failures opened the breaker
 * (the etcd log shows no closed stream: the client closed them). A refusal for space is an answer
 * from a working member: its mark is taken off before the pool sees it (etcd-client.test.ts).
 */
export function keepChannelsOnNoSpace(client: Etcd3, mark: symbol): void {
  const pool = (client as unknown as { pool?: Partial<PoolInternals> }).pool;
  if (typeof pool?.withConnection !== 'function' || typeof pool.markFailed !== 'function') throw new Error('etcd3 changed: its connection pool has no withConnection/markFailed (hub/leader/etcd-client.ts)');
  // Without its mark (a symbol etcd3 exports) the patch would silently do nothing: say so at start.
  if (typeof mark !== 'symbol') throw new Error('etcd3 changed: it exports no RecoverableError mark (hub/leader/etcd-client.ts)');
  const unmark = (err: unknown): unknown => {
    if (err instanceof Error && mark in err && isEtcdNoSpace(err)) delete (err as unknown as Record<symbol, unknown>)[mark];
    return err;
  };
  const withConnection = pool.withConnection.bind(pool);
  const markFailed = pool.markFailed.bind(pool);
  pool.withConnection = (service, fn, ...rest) =>
    withConnection(service, async (args) => {
      try {
        return await fn(args);
      } catch (err) {
        throw unmark(err);
      }
    }, ...rest);
  pool.markFailed = (resource, error) => {
    if (!isEtcdNoSpace(error)) markFailed(resource, error);
  };
}
