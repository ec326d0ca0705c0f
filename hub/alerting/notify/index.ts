// Channels behind one Notifier, and the delivery stage around them.
export { buildNotifier, type BuildContext } from './build.js';
export { Deliverer, type DeliverDeps, type DeliverOptions } from './deliver.js';
export { ATTEMPT_OUTCOMES, DeliveryStats, NOTIFICATION_OUTCOMES } from './delivery-stats.js';
export { DeliveryLog, type DeliveryQuery, type DeliveryRecord } from './delivery-log.js';
export { mqttTopic } from './mqtt.js';
export type { Notification, NotificationAlert, Notifier, SendResult } from './notifier.js';
export { renderTemplate } from './template.js';
export { TicketBook, type TicketRefs } from './tickets.js';
