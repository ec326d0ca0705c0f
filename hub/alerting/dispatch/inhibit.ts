// Inhibition: a firing source alert mutes the target alerts that share its `equal` labels (an
// unreachable cluster mutes its node alerts: they say nothing new while the cluster is dark).
import type { AlertingConfig } from '../config.js';
import type { Alert } from '../model.js';
import { matchesAll, parseMatcher, type Matcher } from '../silences/index.js';

interface InhibitRule {
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

export class Inhibitor {
  private readonly rules: InhibitRule[];

  constructor(config: AlertingConfig) {
    this.rules = config.inhibit_rules.map((r) => ({ source: r.source_matchers.map(parseMatcher), target: r.target_matchers.map(parseMatcher), equal: r.equal }));
  }

  /** The fingerprints of the firing alerts muted by another firing alert, with the muting one. */
  inhibited(firing: readonly Alert[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const rule of this.rules) {
      const sources = firing.filter((a) => matchesAll(rule.source, a.labels));
      if (!sources.length) continue;
      const keys = new Map<string, string>();
      for (const s of sources) keys.set(rule.equal.map((l) => s.labels[l] ?? '').join('\u0000'), s.fingerprint);
      for (const a of firing) {
        if (out.has(a.fingerprint) || !matchesAll(rule.target, a.labels)) continue;
        const by = keys.get(rule.equal.map((l) => a.labels[l] ?? '').join('\u0000'));
        if (by && by !== a.fingerprint) out.set(a.fingerprint, by);
      }
    }
    return out;
  }
}
