export * from './watch-feed.js';
export * from './watch-access.js';
export * from './watch-budget.js';
export { SharedFrames, WatchQueue } from './watch-queue.js';
export { deliveryTrace, type DeliveryTrace } from './delivery-trace.js';
