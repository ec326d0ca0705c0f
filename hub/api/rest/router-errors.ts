// The router's own answers: no route for the path (404), or a route for the path under other
// methods (405, with Allow). Both pass the audit hook like any refusal (http-audit.ts marks an
// answer no route matched as required), so a scan of the API is in the record.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError, NotFoundError } from '../../../shared/errors/index.js';
import type { RouteInfo } from './openapi.js';

/** The path exists, under other methods. */
export class MethodNotAllowedError extends FleetError {
  constructor(
    method: string,
    path: string,
    readonly allow: string[],
  ) {
    super('SF_API_METHOD_NOT_ALLOWED', `${method} is not served on ${path}; it answers ${allow.join(', ')}`, 405, GrpcStatus.UNIMPLEMENTED);
  }
}

/** The methods each concrete path answers, from the route table (`:param` matches one segment). */
export function routerRefusal(routes: readonly RouteInfo[]): (method: string, path: string) => FleetError {
  let table: { pattern: RegExp; method: string }[] | undefined;
  return (method, path) => {
    table ??= routes.map((r) => ({ method: r.method, pattern: new RegExp(`^${r.url.split('/').map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}/?$`) }));
    const allow = [...new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allow.length && !allow.includes(method)) return new MethodNotAllowedError(method, path, allow.includes('GET') ? [...allow, 'HEAD'] : allow);
    return new NotFoundError(`no route ${method} ${path}`);
  };
}
