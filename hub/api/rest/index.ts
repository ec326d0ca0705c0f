export { buildHttpApi, type HttpApiDeps } from './server.js';
export type { RouteInfo } from './openapi.js';
export { HeadersTooLargeError, PayloadTooLargeError, RequestTimeoutError } from './client-error.js';
export { CrossSiteRequestError, CSRF_COOKIE, CSRF_HEADER, csrfToken } from './cross-site.js';
export { MethodNotAllowedError } from './router-errors.js';
