export * from './watch-feed.js';
export * from './watch-access.js';
export * from './watch-budget.js';
export { deliveryTrace, type DeliveryTrace } from './delivery-trace.js';
