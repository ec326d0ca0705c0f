export { FleetStore, type FleetStoreOptions } from './fleet-store.js';
