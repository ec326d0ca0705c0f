// `sfleet export history|jobs|nodes|events|audit --format F [filters] [--cursor FILE] [--file OUT]`:
// the job history, the jobs and nodes the hub holds now, its fleet events or its audit chain as
// a file, streamed from GET /api/v1/export/KIND.
// `sfleet export --user NAME [--pseudonymize] [--file OUT]`: everything held about a person.
//
// Nothing half-written looks complete: the body goes to a hidden partial file beside OUT,
// which is fsynced and renamed to OUT only once the whole answer arrived; on any failure (a
// full disk, a hub that stops mid-stream) the partial file is removed and OUT is untouched.
// The cursor file is replaced (write, fsync, rename) only after the export itself is in place.
// A cursor the hub can no longer continue (SF_EXPORT_CURSOR_TOO_OLD: the hub did not keep every
// change since, so deletes would be missed) exits 3, never 0: a cron job applying each file as
// changes must not take a full export for changes (it would keep deleted rows). By default nothing
// is written and the cursor stays; with --full-on-too-old a full export is written in its place,
// the cursor moves on, and the exit is still 3: "this file is FULL, replace what you hold".
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { CURSOR_HEADER, EXPORT_FORMATS, ROWS_HEADER, type ExportFormat } from '../../shared/export/index.js';
import { HubRequestError } from '../client/hub-client.js';
import { clientFrom, withConnection } from './connection-options.js';

const KINDS = ['jobs', 'nodes', 'events', 'audit', 'history'];
const CURSOR_TOO_OLD = 'SF_EXPORT_CURSOR_TOO_OLD';
/** The exit status of an incremental export whose cursor was too old (documented in the help and hub/export/README.md). */
export const EXIT_CURSOR_TOO_OLD = 3;
const FILTERS = ['cluster', 'user', 'account', 'partition', 'qos', 'state', 'type', 'action', 'since', 'until'] as const;
/** The filters each kind takes (the hub refuses others; said here first, by name). */
const KIND_FILTERS: Record<string, readonly (typeof FILTERS)[number][]> = {
  history: ['cluster', 'user', 'account', 'partition', 'qos', 'state', 'since', 'until'],
  jobs: ['cluster', 'user', 'account', 'partition', 'state', 'since', 'until'],
  nodes: ['cluster', 'partition', 'state'],
  events: ['cluster', 'type', 'since', 'until'],
  audit: ['user', 'action', 'since', 'until'],
};
const FILTER_HELP: Partial<Record<(typeof FILTERS)[number], string>> = {
  since: 'from this time: ISO-8601 or a duration back from now, e.g. 30d (history: end time; jobs: submit time; events: occurred_at; audit: record time)',
  until: 'before this time (same forms and times as --since)',
  type: 'events: one type or a comma list (controller_failover...)',
  action: 'audit: an action, a trailing * matches any suffix (jobs:*)',
};

async function readCursor(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // the first run: everything
    throw new Error(`cannot read the cursor file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const cursor = text.trim();
  if (!/^[A-Za-z0-9_-]{1,16384}$/.test(cursor)) throw new Error(`${file} holds no export cursor (delete it to export everything again)`);
  return cursor;
}

/** Writes `text` to `file` atomically: a partial file beside it, fsync, rename. */
async function writeAtomically(file: string, write: (partial: string) => Promise<void>): Promise<void> {
  const partial = path.join(path.dirname(file), `.${path.basename(file)}.partial-${randomBytes(4).toString('hex')}`);
  try {
    await write(partial);
    const fh = await open(partial, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

function failure(err: unknown, file: string | undefined): Error {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOSPC') return new Error(`export not written: no space left on the device of ${file}; nothing was kept, the cursor is unchanged`);
  if (e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || e.message === 'aborted') {
    return new Error(`export not written: the hub's answer broke off before its end${file ? '; nothing was kept' : ''}, the cursor is unchanged`);
  }
  return e instanceof Error ? e : new Error(String(err));
}

/** GDPR subject access: GET /api/v1/compliance/person/NAME as one JSON document. */
async function exportPerson(opts: Record<string, string | undefined>): Promise<void> {
  const q = opts.pseudonymize ? '?pseudonymize=true' : '';
  const person = await clientFrom(opts).json<{ history: { jobs: unknown[] }; audit_records: unknown[] }>('GET', `/api/v1/compliance/person/${encodeURIComponent(opts.user!)}${q}`);
  const text = `${JSON.stringify(person, null, 2)}\n`;
  if (!opts.file) return void process.stdout.write(text);
  await writeAtomically(opts.file, async (partial) => {
    const fh = await open(partial, 'wx', 0o600);
    await fh.writeFile(text);
    await fh.close();
  });
  process.stderr.write(`${person.history.jobs.length} jobs and ${person.audit_records.length} audit records written to ${opts.file}\n`);
}

export function registerExportCommands(program: Command): void {
  const cmd = program
    .command('export')
    .description('export data as a file: the job history, the jobs and nodes held now, fleet events or the audit chain, as csv, json, ndjson, parquet or avro, full or incremental')
    .argument('[kind]', `${KINDS.join('|')}; none with --user: everything held about that person (JSON)`)
    .option('--format <format>', EXPORT_FORMATS.join('|'))
    .option('--pseudonymize', 'replace user names by their keyed HMAC pseudonyms (the hub needs the gdpr framework and its key)')
    .addHelpText(
      'after',
      '\nExit status: 0 done; 1 failed (nothing written, the cursor unchanged); 2 a usage error; 3 the cursor was too old: ' +
        'without --full-on-too-old nothing was written and the cursor is unchanged, with it the output is a FULL export (replace what you hold) and the cursor moved on.',
    );
  for (const f of FILTERS) cmd.option(`--${f} <value>`, FILTER_HELP[f]);
  withConnection(
    cmd
      .option('--cursor <file>', 'incremental: export only what changed since the run that wrote this file (created on the first run)')
      .option('--full-on-too-old', 'when the hub can no longer continue the cursor: write a FULL export instead (replace what you hold with it) and move the cursor on; exit 3 either way')
      .option('-f, --file <path>', 'write to this file (default: stdout)'),
  ).action(async (kind: string | undefined, opts: Record<string, string | undefined>) => {
    if (kind === undefined) {
      if (!opts.user) throw new Error('name what to export (history) or a person with --user NAME');
      await exportPerson(opts);
      return;
    }
    if (!KINDS.includes(kind)) throw new Error(`unknown export "${kind}": expected ${KINDS.join(', ')}`);
    const takes = KIND_FILTERS[kind];
    const other = FILTERS.find((f) => opts[f] !== undefined && !takes.includes(f));
    if (other) throw new Error(`--${other} does not apply to export ${kind}: its filters are ${takes.map((f) => `--${f}`).join(', ')}`);
    if (opts.pseudonymize && kind !== 'history') throw new Error('--pseudonymize applies to export history only');
    if (opts.fullOnTooOld && !opts.cursor) throw new Error('--full-on-too-old applies to an incremental export (--cursor FILE)');
    if (!opts.format) throw new Error(`--format is needed: ${EXPORT_FORMATS.join(', ')}`);
    const format = opts.format as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw new Error(`unknown format "${opts.format}": expected ${EXPORT_FORMATS.join(', ')}`);
    const q = new URLSearchParams({ format });
    for (const f of takes) if (opts[f] !== undefined) q.set(f, opts[f]);
    if (opts.pseudonymize) q.set('pseudonymize', 'true');
    const cursor = opts.cursor ? await readCursor(opts.cursor) : undefined;
    // The first run of a series sends an empty cursor: the hub starts keeping track of changes for it.
    if (opts.cursor) q.set('cursor', cursor ?? '');
    const client = clientFrom(opts);
    let full = false;
    const res = await client.download(`/api/v1/export/${kind}?${q}`).catch(async (err: unknown) => {
      if (!(cursor && err instanceof HubRequestError && err.code === CURSOR_TOO_OLD)) throw err;
      full = true;
      if (!opts.fullOnTooOld) return undefined;
      q.set('cursor', '');
      return client.download(`/api/v1/export/${kind}?${q}`);
    });
    if (!res) {
      process.stderr.write(
        `cursor too old: the hub no longer knows every change since ${opts.cursor} (${kind === 'events' ? 'events were dropped from its log since' : 'it or another hub of the group did not keep them'}); ` +
          `nothing was written and ${opts.cursor} is unchanged. Run again with --full-on-too-old for a FULL export that replaces what you hold.\n`,
      );
      process.exitCode = EXIT_CURSOR_TOO_OLD;
      return;
    }
    const next = res.headers[CURSOR_HEADER];
    try {
      if (opts.file) await writeAtomically(opts.file, (partial) => pipeline(res, createWriteStream(partial, { flags: 'wx', mode: 0o600 })));
      else await pipeline(res, process.stdout, { end: false });
    } catch (err) {
      throw failure(err, opts.file);
    }
    if (opts.cursor && typeof next === 'string') await writeAtomically(opts.cursor, async (partial) => {
      const fh = await open(partial, 'wx', 0o600);
      await fh.writeFile(`${next}\n`);
      await fh.close();
    });
    if (opts.file) process.stderr.write(`${res.headers[ROWS_HEADER] ?? '?'} rows written to ${opts.file}\n`);
    if (full) {
      process.stderr.write(
        `cursor too old: the hub no longer knows every change since ${opts.cursor}; ` +
          `this is a FULL export, not changes: replace what you hold from earlier runs with it. ${opts.cursor} now continues from it.\n`,
      );
      process.exitCode = EXIT_CURSOR_TOO_OLD;
    }
  });
}
