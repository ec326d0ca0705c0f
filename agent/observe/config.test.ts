import { describe, expect, it } from 'vitest';
import { isLoopback, observeConfigSchema } from './config.js';

describe('agent observe config', () => {
  it('is off by default and plain HTTP on loopback', () => {
    expect(observeConfigSchema.parse(undefined)).toEqual({ tracing: { enabled: false, sampling_ratio: 0.01 } });
    expect(observeConfigSchema.parse({ listen: '127.0.0.1:9464' }).listen).toBe('127.0.0.1:9464');
    expect(observeConfigSchema.parse({ listen: '[::1]:9464' }).listen).toBe('[::1]:9464');
  });

  it('refuses a listener off loopback without TLS, or with TLS but no way to authenticate scrapers', () => {
    expect(() => observeConfigSchema.parse({ listen: '0.0.0.0:9464' })).toThrow('listen 0.0.0.0:9464 is not loopback: it needs tls');
    expect(() => observeConfigSchema.parse({ listen: '10.0.0.5:9464', tls: { cert: 'c', key: 'k' } })).toThrow('set tls.client_ca or bearer_file');
    expect(observeConfigSchema.parse({ listen: '10.0.0.5:9464', tls: { cert: 'c', key: 'k', client_ca: 'ca' } }).tls?.client_ca).toBe('ca');
    expect(observeConfigSchema.parse({ listen: '10.0.0.5:9464', tls: { cert: 'c', key: 'k' }, bearer_file: '/etc/sfleet/scrape-token' }).bearer_file).toBe('/etc/sfleet/scrape-token');
  });

  it('takes a Pushgateway with the job of the grouping key', () => {
    expect(observeConfigSchema.parse({ push_gateway: { url: 'http://pg:9091' } }).push_gateway).toEqual({ url: 'http://pg:9091', interval: 15_000, job: 'sfleet-agent' });
    expect(() => observeConfigSchema.parse({ push_gateway: { url: 'ftp://pg' } })).toThrow();
  });

  it('knows loopback', () => {
    expect(isLoopback('localhost:1')).toBe(true);
    expect(isLoopback('127.1.2.3:1')).toBe(true);
    expect(isLoopback('192.168.1.1:1')).toBe(false);
  });
});
