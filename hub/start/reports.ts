// integrations.confluence: the leader's report pages (hub/confluence), fed by the job history and
// the alerting history of this hub. In a hub group the leader reports the clusters whose history
// it holds (the history lives with each cluster's owner).
import type { Registry } from 'prom-client';
import { tlsPolicyFrom } from '../../shared/security/index.js';
import { ConfluenceClient, ConfluencePublisher, confluencePageCounter } from '../confluence/index.js';
import { usageReport } from '../history/index.js';
import type { Foundations } from './foundations.js';
import type { Region } from './region.js';

export function openConfluenceReports(base: Foundations, region: Region, metrics: Registry): void {
  const config = base.config.integrations?.confluence;
  if (!config) return;
  const history = region.history;
  const publisher = new ConfluencePublisher(
    {
      client: new ConfluenceClient(config, { tls: tlsPolicyFrom(base.config.security) }),
      region: base.config.region,
      ...(history
        ? {
            usage: async (from: number, until: number) => {
              const filter = { since: from, until };
              const [byAccount, byCluster] = [await usageReport(history, 'account', filter, null), await usageReport(history, 'cluster', filter, null)];
              return { byAccount, byCluster };
            },
          }
        : {}),
      resolvedAlerts: () => region.alerting.listHistory({ limit: 1_000 }),
      audit: base.audit,
      logger: base.logger.child({ component: 'confluence' }),
      clock: base.clock,
      count: confluencePageCounter(metrics),
    },
    config,
  );
  if (config.usage_report.enabled && !history) base.logger.warn('integrations.confluence.usage_report: history.enabled is false, so there is no usage to report; only incident pages are written');
  for (const singleton of publisher.singletons()) region.leadership.runner.register(singleton);
}
