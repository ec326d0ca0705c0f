export { ChallengeStore } from './challenge-store.js';
export * from './errors.js';
export { WebauthnFactor, type WebauthnCredentialView } from './webauthn-factor.js';
export { registerDashboardLogin, webDir } from './webauthn-routes.js';
