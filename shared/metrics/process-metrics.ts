// Node's process metrics for the hub's and the agent's registries, lint-clean: prom-client
// adds gauges `nodejs_active_{handles,requests,resources}_total`, and `promtool check metrics`
// refuses `_total` on anything but a counter. They are left out: the same figures by type are
// served as `nodejs_active_{handles,requests,resources}` (sum them for the total).
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../version.js';

export function registerProcessMetrics(registry: Registry, prefix: string): void {
  const scratch = new Registry();
  collectDefaultMetrics({ register: scratch, prefix });
  for (const metric of scratch.getMetricsAsArray()) {
    const name = (metric as unknown as { name: string }).name;
    if (!(name.endsWith('_total') && metric instanceof Gauge)) registry.registerMetric(metric as unknown as Gauge);
  }
  // prom-client serves `external` (memory V8 tracks outside its heap) but not the ArrayBuffer
  // part of it: Buffers and streams' chunks. The soak reads both to tell native memory a JS
  // object holds from memory a native library (DuckDB, glibc's allocator) holds.
  new Gauge({
    name: `${prefix}nodejs_array_buffers_bytes`,
    help: 'Memory of ArrayBuffers and Buffers, in bytes (process.memoryUsage().arrayBuffers)',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().arrayBuffers);
    },
  });
}

/** `<name>{version,node_version} 1`: joins any series to the release that made it. */
export function registerBuildInfo(registry: Registry, name: string): void {
  new Gauge({ name, help: 'Always 1; the labels say which build runs', labelNames: ['version', 'node_version'], registers: [registry] }).set({ version: VERSION, node_version: process.version }, 1);
}
