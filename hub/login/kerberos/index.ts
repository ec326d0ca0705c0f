export { kerberosConfigSchema, type KerberosConfig } from './config.js';
export { KERBEROS_LOGIN_PATH, startKerberos, type Kerberos } from './kerberos-login.js';
