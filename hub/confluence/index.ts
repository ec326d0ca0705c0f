export { confluenceConfigSchema, type ConfluenceConfig } from './config.js';
export { ConfluenceClient, ConfluencePublishError, type PublishedPage } from './client.js';
export { ConfluencePublisher, monthBefore, type PageKind, type PageOutcome, type PublisherDeps } from './publisher.js';
export { incidentTitle, usageTitle } from './pages.js';
export { confluencePageCounter } from './metrics.js';
