// In a hub group, a cursor made on one hub is read by another after a failover: that hub can only
// answer it if it was keeping a change journal before the cursor was made. So the first
// incremental export on any hub of a region puts one etcd key (`export/<region>/journal`), and
// every hub of the region starts its journal when it sees the key: at start, and through a watch
// while it runs. A hub that starts with a saved journal puts the key too (a standalone hub that
// exported incrementally, then joined a group). A hub that was down when the key appeared starts at its next start. From then on
// every hub hears every delta (each applies the same ones, locally or through replication) and
// saves its journal as it stops (journal-file.ts). Cursors older than a hub's journal are still
// refused there as too old (once, after the group first exports incrementally).
import type { Namespace } from 'etcd3';
import type { Logger } from '../../shared/logging/index.js';
import type { ExportJournal } from './journal-file.js';

export const journalKey = (region: string): string => `export/${region}/journal`;

/** Ties this hub's journal to the region's key; returns the close. Never blocks the start: etcd may be down. */
export function shareJournalStart(journals: ExportJournal, etcd: Namespace, opts: { region: string; hubId: string; logger: Logger }): () => Promise<void> {
  const key = journalKey(opts.region);
  let closed = false;
  const follow = (): void => {
    if (closed || journals.current) return;
    journals.start();
    opts.logger.info('export: the group exports incrementally: this hub keeps a change journal from now on');
  };
  const announce = (): void => {
    etcd.put(key).value(opts.hubId).catch((err: unknown) => {
      // The other hubs then start at their next sight of the key (another export puts it again).
      opts.logger.warn({ err: (err as Error).message }, 'export: could not tell the group that incremental exports are in use');
    });
  };
  journals.onStart(announce);
  // A journal loaded at start (this hub exported incrementally before, perhaps standalone before
  // it joined the group): the group may not know yet.
  if (journals.current) announce();
  const watching = etcd
    .watch()
    .key(key)
    .create()
    .then((watcher) => {
      watcher.on('put', follow);
      if (closed) void watcher.cancel();
      return watcher;
    });
  void watching.catch((err: unknown) => opts.logger.warn({ err: (err as Error).message }, 'export: cannot watch the group\'s journal key'));
  etcd
    .get(key)
    .string()
    .then((v) => v !== null && follow(), (err: unknown) => opts.logger.warn({ err: (err as Error).message }, 'export: cannot read the group\'s journal key'));
  return async () => {
    closed = true;
    await watching.then((w) => w.cancel(), () => undefined);
  };
}
