// SAML 2.0 service provider for the dashboard login.
export { SAML_ACS_PATH, SAML_LOGIN_PATH, startSaml, type Saml } from './service-provider.js';
export { UsedAssertions, type ReplayCache } from './used-assertions.js';
