export { kerberosConfigSchema, type KerberosConfig } from './config.js';
export { KERBEROS_LOGIN_PATH, startKerberos, type Kerberos } from './kerberos-login.js';
export { ReplayCache, type AuthenticatorReplay, type ReplayClaim } from './acceptor.js';
export { KERBEROS_BROWSER_LOGIN_PATH } from './browser-login.js';
