export { checkDataAtRest, dataAtRestConfigSchema, effectiveEncryption, hasTlsPolicy, securityConfigSchema, tlsPolicyFrom, type SecurityConfig } from './config.js';
