export { buildHttpApi, type HttpApiDeps } from './server.js';
export type { RouteInfo } from './openapi.js';
export { HeadersTooLargeError, RequestTimeoutError } from './client-error.js';
