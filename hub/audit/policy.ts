// Which level an event is recorded at, Kubernetes audit policy style: the first rule that
// matches decides, else the default level. A rule cannot silence what invariant 5 requires
// (mutations, denials, failed authentication): those are recorded at Metadata at least.
import { AUDIT_LEVELS, type AuditLevel } from './record.js';

export interface AuditRule {
  level: AuditLevel;
  /** Globs over "resource:verb", e.g. "jobs:*", "*:read", "auth:login". */
  actions?: readonly string[];
  /** Globs over the resource, e.g. "job prod-a/*". */
  resources?: readonly string[];
  users?: readonly string[];
}

const globCache = new Map<string, RegExp>();
function glob(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    globCache.set(pattern, re);
  }
  return re;
}

const matchesAny = (patterns: readonly string[] | undefined, value: string | null | undefined): boolean =>
  patterns === undefined || (value != null && patterns.some((p) => glob(p).test(value)));

type Matchable = { action: string; resource?: string; user?: string | null };
const matches = (r: AuditRule, event: Matchable): boolean => matchesAny(r.actions, event.action) && matchesAny(r.resources, event.resource ?? '') && matchesAny(r.users, event.user);
const rank = (level: AuditLevel): number => AUDIT_LEVELS.indexOf(level);

/**
 * `floors` (compliance presets) can only raise the level: each one that matches sets a minimum,
 * whatever the site's own rules say.
 */
export function levelFor(
  policy: { level: AuditLevel; rules: readonly AuditRule[]; floors?: readonly AuditRule[] },
  event: Matchable & { required?: boolean },
): AuditLevel {
  const rule = policy.rules.find((r) => matches(r, event));
  let level = rule ? rule.level : policy.level;
  for (const floor of policy.floors ?? []) if (matches(floor, event) && rank(floor.level) > rank(level)) level = floor.level;
  return level === 'None' && event.required ? 'Metadata' : level;
}
