export type { SecurityKind, SecurityStore } from './security-store.js';
export { EtcdSecurityStore, SECURITY_STORE_PURPOSE, type EtcdSecurityStoreOptions } from './etcd-security-store.js';
export { SecurityStoreUnavailableError } from './errors.js';
export { ValueSealer } from './sealed-value.js';
export { SharedTokenRegistry } from './shared-tokens.js';
export { shareRevocations } from './shared-revocations.js';
export { loginFailuresBySource, SecurityStoreLimiterBackend } from './login-counters.js';
export { applyFileEdit, mergeCredentials, SharedUserDirectory } from './shared-users.js';
export { SharedOidcLogins, SharedSamlReplay, SharedSamlRequests, sweepExpiredLoginState } from './shared-login-state.js';
