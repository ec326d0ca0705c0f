// The revocation list in force: data_dir/revoked.json, read at start and again whenever it
// changes (`sfleet ca revoke` writes it). A malformed list is logged and the previous one stays.
import type { Logger } from '../../shared/logging/index.js';
import { normalizeSerial, readRevocations, type RevokedCertificate } from '../../shared/tls/index.js';
import { watchFiles, type FileWatchOptions } from './file-watch.js';

export class RevocationWatcher {
  private list = new Map<string, RevokedCertificate>();
  private stop?: () => void;
  private readonly listeners: (() => void)[] = [];
  private readonly sources: ((serial: string) => RevokedCertificate | undefined)[] = [];

  constructor(
    readonly path: string,
    private readonly deps: { logger: Logger },
    private readonly opts: FileWatchOptions = {},
  ) {
    // At start a broken list is a config error: better no hub than one that trusts revoked certs.
    this.list = readRevocations(path);
  }

  get size(): number {
    return this.list.size;
  }

  /** The revocation record of a serial (any hex form), if revoked. */
  revoked(serial: string | undefined): RevokedCertificate | undefined {
    if (!serial) return undefined;
    const s = normalizeSerial(serial);
    const own = this.list.get(s);
    if (own) return own;
    for (const source of this.sources) {
      const entry = source(s);
      if (entry) return entry;
    }
    return undefined;
  }

  /** The revocations of this hub's own file (a hub group publishes them to its shared store). */
  fileEntries(): RevokedCertificate[] {
    return [...this.list.values()];
  }

  /** Another list in force beside the file (a hub group's shared revocations), by normalized serial. */
  addSource(lookup: (serial: string) => RevokedCertificate | undefined): void {
    this.sources.push(lookup);
  }

  /** A source's list changed: the same as a change of the file (open streams of revoked certificates end). */
  changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Runs after each change of the list (e.g. to end streams of just-revoked certificates). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.stop ??= watchFiles([this.path], () => this.reload(), this.opts);
  }

  close(): void {
    this.stop?.();
    this.stop = undefined;
  }

  reload(): void {
    try {
      this.list = readRevocations(this.path);
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'revocation list refused; the previous list stays in force');
      return;
    }
    this.deps.logger.info({ path: this.path, revoked: this.list.size }, 'revocation list reloaded');
    this.changed();
  }
}
