// Notification templates: "{{field}}" placeholders over a fixed set of fields, nothing else (no
// code, no loops), so a template can be checked completely when the config loads.
export const TEMPLATE_FIELDS = ['alertname', 'cluster', 'severity', 'status', 'count', 'summary', 'region', 'group_key', 'ack_url', 'step', 'policy'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** A problem with the template, or undefined when it renders. `extra`: fields a channel adds (the SMS body's to and message). */
export function checkTemplate(template: string, extra: readonly string[] = []): string | undefined {
  const rest = template.replace(PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) return 'unbalanced {{ }} in template';
  const known = [...TEMPLATE_FIELDS, ...extra];
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!known.includes(m[1])) return `unknown template field "{{${m[1]}}}"; known: ${known.join(', ')}`;
  }
  return undefined;
}

/** `encode` escapes each value for where it lands (a JSON string, a form field). */
export function renderTemplate(template: string, fields: Partial<Record<string, string | number>>, encode: (value: string) => string = (v) => v): string {
  return template.replace(PLACEHOLDER, (_all, name: string) => encode(String(fields[name] ?? '')));
}
