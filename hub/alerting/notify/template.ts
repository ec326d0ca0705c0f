// Notification templates: "{{field}}" placeholders over a fixed set of fields, nothing else (no
// code, no loops), so a template can be checked completely when the config loads.
export const TEMPLATE_FIELDS = ['alertname', 'cluster', 'severity', 'status', 'count', 'summary', 'region', 'group_key', 'ack_url', 'step', 'policy'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** A problem with the template, or undefined when it renders. */
export function checkTemplate(template: string): string | undefined {
  const rest = template.replace(PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) return 'unbalanced {{ }} in template';
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(m[1])) return `unknown template field "{{${m[1]}}}"; known: ${TEMPLATE_FIELDS.join(', ')}`;
  }
  return undefined;
}

export function renderTemplate(template: string, fields: Partial<Record<TemplateField, string | number>>): string {
  return template.replace(PLACEHOLDER, (_all, name: string) => String(fields[name as TemplateField] ?? ''));
}
