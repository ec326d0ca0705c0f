// The rbac section reloads without a restart: on SIGHUP (the CLI calls reload()) and, unless
// rbac.watch_file is false, when the config file changes. The whole file is read and validated as at start; a file that does not
// pass is refused with one log line naming the file, line and key, and the policy in force stays.
// A new policy is audited (rbac:reload), then open watches re-check at once, so a caller who lost
// a cluster stops receiving it within a moment rather than at the next periodic re-check.
// Only rbac changes apply: the log line says when other sections changed and need a restart.
import { createHash } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '../../shared/logging/index.js';
import type { AuditLog } from '../audit/index.js';
import type { Rbac, RbacConfig } from '../policy/index.js';

export type ReloadOutcome = 'changed' | 'unchanged' | 'refused';

export interface RbacReloaderDeps {
  rbac: Rbac;
  /** The config file to watch. */
  file: string;
  /** Reads and validates the whole config again (throws a ConfigError naming file, line and key). */
  load: () => { rbac?: RbacConfig | undefined } & Record<string, unknown>;
  logger: Logger;
  audit?: AuditLog;
  /** After a new policy is in force (open watches re-check). */
  changed: () => void;
  /** Editors write a file in several steps: changes within this window are one reload. */
  debounceMs?: number;
}

export class RbacReloader {
  private watching = false;
  private timer: NodeJS.Timeout | undefined;
  private others: string;
  private running: Promise<ReloadOutcome> = Promise.resolve('unchanged');

  constructor(
    private readonly deps: RbacReloaderDeps,
    /** The config the hub started with (its other sections, to tell what a reload does not apply). */
    started: Record<string, unknown>,
  ) {
    this.others = othersDigest(started);
  }

  /**
   * Polls the file's status every `pollMs` (it follows a symlink, so a config manager's rename or
   * a Kubernetes ConfigMap's symlink swap is seen too); a change is read once it settles.
   */
  start(pollMs = 1_000): this {
    const { file } = this.deps;
    this.watching = true;
    watchFile(file, { persistent: false, interval: pollMs }, (now, before) => {
      if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload('file change'), this.deps.debounceMs ?? 200);
      this.timer.unref();
    });
    return this;
  }

  /** Reads the file again; one reload at a time (a second waits for the first). */
  reload(trigger: 'SIGHUP' | 'file change'): Promise<ReloadOutcome> {
    this.running = this.running.then(() => this.reloadNow(trigger));
    return this.running;
  }

  private async reloadNow(trigger: string): Promise<ReloadOutcome> {
    const { rbac, logger, file } = this.deps;
    let next: ReturnType<RbacReloaderDeps['load']>;
    try {
      next = this.deps.load();
    } catch (err) {
      logger.error({ file, trigger, err: (err as Error).message }, 'rbac reload refused: the config file is not valid; the policy in force stays');
      await this.deps.audit?.record({ action: 'rbac:reload', resource: `config ${file}`, outcome: 'failed', reason: (err as Error).message, transport: 'internal', user: null, required: true }).catch(() => undefined);
      return 'refused';
    }
    const others = othersDigest(next);
    const restartNeeded = others !== this.others;
    if (JSON.stringify(next.rbac ?? null) === JSON.stringify(rbac.config ?? null)) {
      logger.info({ file, trigger, ...(restartNeeded ? { restart_needed: 'sections other than rbac changed; they apply at the next start' } : {}) }, 'rbac reload: the policy is unchanged');
      return 'unchanged';
    }
    rbac.replace(next.rbac);
    const roles = Object.keys(next.rbac?.roles ?? {}).length;
    const bindings = next.rbac?.bindings.length ?? 0;
    logger.info({ file, trigger, roles, bindings, ...(restartNeeded ? { restart_needed: 'sections other than rbac changed; they apply at the next start' } : {}) }, 'rbac reloaded: the new policy is in force; open watches re-check now');
    await this.deps.audit?.record({ action: 'rbac:reload', resource: `config ${file}`, outcome: 'success', reason: `${trigger}: ${roles} roles, ${bindings} bindings`, transport: 'internal', user: null, required: true }).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'rbac reload: the audit record failed'));
    this.deps.changed();
    return 'changed';
  }

  close(): void {
    clearTimeout(this.timer);
    if (this.watching) unwatchFile(this.deps.file);
  }
}

/** A digest of every section but rbac: a reload says when those changed too (they need a restart). */
function othersDigest(config: Record<string, unknown>): string {
  const { rbac: _rbac, ...rest } = config;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}
