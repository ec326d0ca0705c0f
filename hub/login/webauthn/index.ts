export { ChallengeStore } from './challenge-store.js';
export * from './errors.js';
export { WebauthnFactor, type WebauthnCredentialView } from './webauthn-factor.js';
export { registerDashboardLogin, type SsoLogin } from './webauthn-routes.js';
export { webDir } from './dashboard-files.js';
