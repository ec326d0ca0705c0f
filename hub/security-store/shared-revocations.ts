// Certificate revocations of a hub group: `sfleet ca revoke` writes one hub's revoked.json; that
// hub publishes each entry to the shared store (queued while etcd is unreachable), and every hub
// refuses the serial as soon as the store's change reaches it.
import type { RevocationWatcher } from '../tls/index.js';
import type { RevokedCertificate } from '../../shared/tls/index.js';
import type { SecurityStore } from './security-store.js';

export function shareRevocations(store: SecurityStore, watcher: RevocationWatcher): { publish(): Promise<void> } {
  watcher.addSource((serial) => store.get<RevokedCertificate>('revocations', serial));
  store.onChange('revocations', () => watcher.changed());
  const publish = async (): Promise<void> => {
    for (const entry of watcher.fileEntries()) {
      if (store.get('revocations', entry.serial) !== undefined) continue;
      await store.put('revocations', entry.serial, entry, { queue: true });
    }
  };
  watcher.onChange(() => void publish().catch(() => undefined));
  return { publish };
}
