// Per-tenant alert routes: an alert whose cluster and account belong to a tenant tries the
// tenant's own routes first, then the alerting section's; a tenant route naming a channel the
// alerting section lacks is refused at load with the file, line and key.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/index.js';
import { Router } from '../alerting/dispatch/index.js';
import type { Alert } from '../alerting/model.js';
import { hubConfigSchema } from '../config/schema.js';
import { tenantAlertRoutes } from './tenancy.js';

const load = (name: string) => loadConfigFile(hubConfigSchema, join(import.meta.dirname, 'testdata', name), { env: {} });
const alert = (labels: Record<string, string>): Alert => ({ fingerprint: 'f', labels: { severity: 'critical', ...labels }, annotations: { summary: 's' }, state: 'firing', active_since: '', last_seen: '' }) as Alert;

describe('per-tenant alert routes', () => {
  const config = load('tenant-alert-routes.yaml');
  const router = new Router(config.alerting, tenantAlertRoutes(config.multi_tenancy));
  const routed = (labels: Record<string, string>) => router.targets(alert({ alertname: 'node_down', ...labels })).map((t) => `${t.route} ${(t.channels ?? []).join(',')}`);

  it("sends a tenant's alerts through its own route first", () => {
    expect(routed({ cluster: 'alpha-cluster' })).toEqual(['t:alpha:r0 alpha-pager']);
    // A shared cluster: the account says whose alert it is.
    expect(routed({ cluster: 'shared', account: 'alpha-main' })).toEqual(['t:alpha:r0 alpha-pager']);
  });

  it("falls through to the alerting section's routes when no tenant route matches, or one says continue", () => {
    expect(routed({ cluster: 'alpha-cluster', severity: 'warning' })).toEqual(['r0 ops']);
    expect(routed({ cluster: 'alpha-cluster', severity: 'warning', alertname: 'job_failures' })).toEqual(['t:alpha:r1 alpha-chat', 'r0 ops']);
  });

  it("never sends another tenant's alert, or a shared cluster's alert of no tenant, through a tenant's route", () => {
    expect(routed({ cluster: 'bravo-cluster' })).toEqual(['r0 ops']);
    expect(routed({ cluster: 'shared', account: 'bravo-x' })).toEqual(['r0 ops']);
    expect(routed({ cluster: 'shared' })).toEqual(['r0 ops']);
    expect(routed({})).toEqual(['r0 ops']);
  });

  it('refuses a tenant route naming a channel the alerting section does not define, with the file, line and key', () => {
    expect(() => load('tenant-alert-route-unknown-channel.yaml')).toThrow('tenant-alert-route-unknown-channel.yaml:13: multi_tenancy.tenants.alpha.alerts.routes.0.channels.1: unknown channel "alpha-pager"');
  });

  it('without tenant routes (or tenants) the router is as before', () => {
    expect(tenantAlertRoutes(undefined)).toBeUndefined();
    expect(tenantAlertRoutes({ ...config.multi_tenancy!, tenants: { bravo: config.multi_tenancy!.tenants.bravo } })).toBeUndefined();
  });
});
