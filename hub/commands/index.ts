export * from './command-router.js';
export * from './errors.js';
export { PeerForwarding, FORWARD_PATH, type PeerForwardingDeps } from './peer-forwarding.js';
export { registerForwardRoute } from './forward-route.js';
