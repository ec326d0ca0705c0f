// A hub group's security store (tokens, revocations, users) lives in etcd, not in the data
// directory: the change log would not see it. While this hub leads, it watches the region's
// security prefix and, for every change, appends the whole durable state as of that change (the
// backup's `etcd/region.json` form) to the change log, stamped with the hub's clock; the shipper
// ships it like a store write, fenced, and `restore --at T` puts the last one <= T in place of the
// backup's object before writing etcd (replay.ts).
//
// Each term of leadership starts with a full read at one revision (a base), then watches from the
// next revision: a new leader does not depend on what the old one recorded, and changes made
// between the old leader's last ship and the takeover come back in the base, stamped at the
// takeover. A watch that fails (a compacted revision, etcd lost) ends the term's run; the runner
// restarts it, with a new base.
import type { Etcd3 } from 'etcd3';
import type { AtRest } from '../../../shared/crypto/index.js';
import type { Singleton } from '../../leader/index.js';
import { applySecurityChange, ETCD_STATE_OBJECT, parseEtcdState, readEtcdState, securityPrefix } from '../etcd-state.js';
import type { ChangeLog } from './change-log.js';

/** The purpose of a change-log entry that holds the group's etcd state (replay.ts). */
export const ETCD_CHANGES_PURPOSE = 'hub/backup/etcd-state';

export interface EtcdChangesDeps {
  client: Etcd3;
  prefix: string;
  region: string;
  atRest: AtRest;
  changes: ChangeLog;
}

export function etcdChangesSingleton(deps: EtcdChangesDeps): Singleton {
  return {
    name: 'backup-etcd-changes',
    async run(ctx) {
      const state = parseEtcdState(await readEtcdState(deps.client, deps.prefix, deps.region, deps.atRest), 'etcd');
      const record = (): void => deps.changes.recordObject(ETCD_STATE_OBJECT, ETCD_CHANGES_PURPOSE, Buffer.from(JSON.stringify(state)));
      ctx.assertLeading();
      record();
      const watcher = await deps.client
        .namespace(deps.prefix)
        .watch()
        .prefix(securityPrefix(deps.region))
        .startRevision(String(Number(state.revision) + 1))
        .create();
      // Removed when the run ends: a watch that keeps failing restarts every second in one term.
      let stop: (() => void) | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          const change = (deleted: boolean) => (kv: Parameters<typeof applySecurityChange>[1]) => {
            try {
              if (!ctx.signal.aborted && applySecurityChange(state, kv, deleted, deps.atRest)) record();
            } catch (err) {
              reject(err as Error);
            }
          };
          watcher.on('put', change(false));
          watcher.on('delete', change(true));
          // A compacted start revision or a lost stream: a new base at the restart.
          watcher.on('error', (err) => reject(err));
          stop = () => resolve();
          ctx.signal.addEventListener('abort', stop, { once: true });
          if (ctx.signal.aborted) resolve();
        });
      } finally {
        if (stop) ctx.signal.removeEventListener('abort', stop);
        await watcher.cancel().catch(() => undefined);
      }
    },
  };
}
