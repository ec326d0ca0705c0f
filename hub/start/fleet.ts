// Stage 2, fleet: the fleet's data on this hub. The store (checkpoints and WALs in the data
// directory) loads the fleet state; the watch feed and the event log publish what changes;
// the command router carries commands to agents. A store directory that cannot be made or
// read stops the start here.
import { EventLog } from '../events/index.js';
import { ExportJournal } from '../export/index.js';
import { CommandRouter } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import { FleetStore } from '../store/index.js';
import { WatchFeed } from '../watch/index.js';
import type { CloseStack } from './close-stack.js';
import { DURABLE_CHECK_INTERVAL_MS, type Foundations } from './foundations.js';

export interface Fleet {
  state: FleetState;
  store: FleetStore;
  events: EventLog;
  /** Incremental jobs/nodes exports: what changed after a cursor, kept across graceful restarts. */
  exportJournal: ExportJournal;
  watch: WatchFeed;
  commands: CommandRouter;
}

export function openFleet({ config, logger, atRest, clock, faults }: Foundations, stack: CloseStack): Fleet {
  const state = new FleetState({ clock });
  const store = new FleetStore({ dataDir: config.data_dir }, { logger, atRest, faults });
  stack.defer('fleet store', () => store.close(state));
  // A saved export journal is opened before the load and hears the WAL's replay past its last
  // save (a crash), then every change after the load: agents connect later.
  const exportJournal = new ExportJournal({ state, dataDir: config.data_dir, atRest, logger: logger.child({ component: 'export' }), replaying: true });
  stack.defer('export change journal', () => exportJournal.close());
  // The store's flush interval: lost or broken files are rewritten from memory within it.
  const loaded = store.load(state, exportJournal.replayed);
  exportJournal.loaded();
  logger.info({ dataDir: config.data_dir, ...loaded }, 'fleet state loaded from the data directory');
  const watch = new WatchFeed(state, { clock, replay: config.limits.watch_replay });
  const events = new EventLog({ dataDir: config.data_dir, hubId: config.hub_id }, { logger, atRest, faults });
  stack.defer('event log', () => events.close());
  const maintenance = setInterval(() => {
    store.maintain(state);
    events.maintain();
  }, DURABLE_CHECK_INTERVAL_MS);
  maintenance.unref();
  stack.defer('fleet store and event log checks', () => clearInterval(maintenance));
  events.subscribe((event) => watch.publishEvent(event));
  const commands = new CommandRouter({ timeoutMs: config.commands.timeout });
  return { state, store, events, exportJournal, watch, commands };
}
