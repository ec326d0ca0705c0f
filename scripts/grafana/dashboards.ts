// The Grafana dashboards shipped in deploy/grafana/: read them, list every panel query with
// its template variables set to chosen values (for a test against a real Prometheus), and
// check them against Grafana's published dashboard schema. Grafana publishes that schema as
// the TypeScript types generated from its CUE kinds (@grafana/schema, `Dashboard`), not as a
// JSON Schema: each file is type-checked as an object literal of that type, so a missing
// required field, a wrong type or a property the schema does not have is an error.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export const DASHBOARD_DIR = join(import.meta.dirname, '../../deploy/grafana');

export interface DashboardFile {
  name: string;
  text: string;
  json: GrafanaDashboard;
}

interface Target { refId: string; expr: string }
interface GrafanaPanel { id: number; type: string; title?: string; targets?: Target[]; panels?: GrafanaPanel[] }
interface GrafanaVariable { name: string; type: string; query?: string | { query: string } }
export interface GrafanaDashboard { uid: string; title: string; panels: GrafanaPanel[]; templating?: { list?: GrafanaVariable[] } }

export function readDashboards(dir = DASHBOARD_DIR): DashboardFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      return { name: f.replace(/\.json$/, ''), text, json: JSON.parse(text) as GrafanaDashboard };
    });
}

export interface PanelQuery { dashboard: string; panel: string; refId: string; expr: string }

/** Every panel target's PromQL, `$var`/`${var}` replaced by `values` (unknown variables are an error). */
export function panelQueries(d: DashboardFile, values: Record<string, string>): PanelQuery[] {
  const out: PanelQuery[] = [];
  const walk = (panels: GrafanaPanel[]) => {
    for (const p of panels) {
      if (p.panels) walk(p.panels);
      for (const t of p.targets ?? []) out.push({ dashboard: d.name, panel: p.title ?? `#${p.id}`, refId: t.refId, expr: substitute(t.expr, values) });
    }
  };
  walk(d.json.panels);
  return out;
}

/** Query variables as PromQL: `label_values(expr, label)` becomes `expr` and the label to read. */
export function variableQueries(d: DashboardFile, values: Record<string, string>): { name: string; expr: string; label: string }[] {
  return (d.json.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => {
      const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
      if (!m) throw new Error(`${d.name}: variable ${v.name}: only label_values(expr, label) is understood, got ${q}`);
      return { name: v.name, expr: substitute(m[1]!, values), label: m[2]! };
    });
}

function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const v = values[name];
    if (v === undefined) throw new Error(`no value for the template variable $${name} in ${expr}`);
    return v;
  });
}

/** Type errors of each dashboard against @grafana/schema's `Dashboard` (empty: valid). */
export function schemaErrors(dashboards: { name: string; text: string }[]): Map<string, string[]> {
  // virtual files beside the repository's node_modules, so '@grafana/schema' resolves
  const base = join(import.meta.dirname, '__dashboard_check__');
  const files = new Map(dashboards.map((d) => [join(base, `${d.name}.ts`), `import type { Dashboard } from '@grafana/schema';\nexport const dashboard: Dashboard = ${d.text};\n`]));
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts'], skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) => {
    const text = files.get(name);
    return text !== undefined ? ts.createSourceFile(name, text, lang) : getSourceFile.call(host, name, lang, ...rest);
  };
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => files.get(name) ?? readFile.call(host, name);
  const program = ts.createProgram([...files.keys()], options, host);
  const errors = new Map<string, string[]>(dashboards.map((d) => [d.name, []]));
  for (const diag of ts.getPreEmitDiagnostics(program)) {
    const file = diag.file?.fileName ?? '';
    const name = dashboards.find((d) => join(base, `${d.name}.ts`) === file)?.name ?? '(schema)';
    const where = diag.file && diag.start !== undefined ? diag.file.getLineAndCharacterOfPosition(diag.start) : undefined;
    // the JSON starts on the virtual file's line 2
    const at = where ? `line ${where.line}: ` : '';
    const list = errors.get(name) ?? [];
    list.push(at + ts.flattenDiagnosticMessageText(diag.messageText, '\n'));
    errors.set(name, list);
  }
  return errors;
}
