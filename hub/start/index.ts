// The hub's start, stage by stage (hub/main.ts runs them in order), and the close stack.
export { CloseStack, HubStartError, type StageName } from './close-stack.js';
export { openFoundations, type Foundations } from './foundations.js';
export { openFleet, type Fleet } from './fleet.js';
export { openRegion, type Region } from './region.js';
export { openGate, type Gate } from './gate.js';
export { openListeners, type ConfigSource, type ListenerParts, type Listeners } from './listeners.js';
