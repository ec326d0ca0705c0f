import { describe, expect, it } from 'vitest';
import { panelQueries, readDashboards, schemaErrors, variableQueries } from './dashboards.js';

const dashboards = readDashboards();

describe('Grafana dashboards in deploy/grafana', () => {
  it('are the five the issue names, with unique uids', () => {
    expect(dashboards.map((d) => d.name)).toEqual(['agent-health', 'cluster-detail', 'controller-health', 'fleet-overview', 'hub-health']);
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(5);
  });

  it("validate against Grafana's published dashboard schema (@grafana/schema Dashboard)", () => {
    const errors = schemaErrors(dashboards);
    expect(Object.fromEntries(errors)).toEqual(Object.fromEntries(dashboards.map((d) => [d.name, []])));
  }, 60_000);

  it('the schema check refuses what the schema does not allow', () => {
    const edits: Record<string, (d: Record<string, unknown>) => void> = {
      unchanged: () => {},
      noSchemaVersion: (d) => delete d.schemaVersion,
      unknownKey: (d) => (d.refreshEvery = '5s'),
      badGridPos: (d) => ((d.panels as Record<string, unknown>[])[0]!.gridPos = { h: 'tall', w: 6, x: 0, y: 0 }),
    };
    const edited = Object.entries(edits).map(([name, edit]) => {
      const d = JSON.parse(dashboards[0]!.text) as Record<string, unknown>;
      edit(d);
      return { name, text: JSON.stringify(d, null, 2) };
    });
    const errors = schemaErrors(edited);
    const of = (name: string) => errors.get(name)!.join('\n');
    expect(of('unchanged')).toBe('');
    expect(of('noSchemaVersion')).toMatch(/Property 'schemaVersion' is missing/);
    expect(of('unknownKey')).toMatch(/'"refreshEvery"' does not exist in type 'Dashboard'/);
    expect(of('badGridPos')).toMatch(/Type 'string' is not assignable to type 'number'/);
  }, 60_000);

  it('every panel has a query and every template variable a value to set', () => {
    const values = { datasource: 'prometheus', cluster: 'c1', partition: 'p1', agent: 'a1' };
    for (const d of dashboards) {
      const queries = panelQueries(d, values);
      expect(queries.length, d.name).toBeGreaterThan(3);
      for (const q of queries) expect(q.expr, `${d.name}/${q.panel}`).not.toMatch(/\$/);
      for (const v of variableQueries(d, values)) expect(v.expr).not.toMatch(/\$/);
    }
    expect(() => panelQueries(dashboards[0]!, {})).toThrow(/no value for the template variable/);
  });
});
