// `sfleet audit verify`: walks every file and every line and names the first one that breaks
// the chain. What the chain proves: no record was edited, deleted, inserted or reordered, no
// middle file removed and the tail not cut (against HEAD), unless whoever did it recomputed
// every later hash as well (and HEAD). Without a secret key (audit.hmac_key_*) or a copy shipped
// off the host (see ship/), someone with write access to the directory can rebuild a consistent
// chain. With the key, lines are HMAC-SHA256: rebuilding needs the key, and a keyed chain that
// turns plain again is reported (a downgrade).
import type { AuditFiles } from './audit-files.js';
import { headMacProblem, parseHead } from './head.js';
import { GENESIS_HASH, lineHash, type AuditAnchor, type AuditBreak, type AuditLine, type AuditRecord, type RetentionInfo } from './record.js';

export type VerifyResult =
  | { ok: true; files: number; records: number; first_seq: number | null; last_seq: number | null; starts: string; keyed_files: number; breaks: string[] }
  | { ok: false; file: string; line: number; reason: string; files: number; records: number };

export function verifyChain(files: AuditFiles, opts: { key?: Buffer } = {}): VerifyResult {
  const names = files.list();
  let keyedFiles = 0;
  let keyed = false;
  let records = 0;
  let lastHash = GENESIS_HASH;
  let expectedSeq = 1;
  let firstSeq: number | null = null;
  let start: { file: string; anchor_hash: string; missing: string } | null = null;
  const starts: RetentionInfo['chain_starts_at'][] = [];
  const fail = (file: string, line: number, reason: string): VerifyResult => ({ ok: false, file, line, reason, files: names.length, records });
  const headText = files.readMeta('HEAD');
  const head = headText === undefined ? undefined : parseHead(headText);
  if (typeof head === 'string') return fail('HEAD', 1, head);
  let hashAtHeadSeq: string | undefined;
  const breaks: string[] = [];

  for (const [i, name] of names.entries()) {
    const text = files.read(name);
    let lines = text.split('\n');
    // A file the next segment names as truncated or replaced counts up to its first line that is
    // cut or does not chain on; the next anchor checks that this is where its break record says.
    const next = i + 1 < names.length ? breakOf(files, names[i + 1]) : undefined;
    const cut = next?.file === name && next.how !== 'deleted';
    if (cut) {
      lines = chainedPrefix(lines.slice(0, -1), opts.key);
      if (lines.length === 0) continue;
    }
    if (lines[lines.length - 1] === '') lines.pop();
    else if (lines.length && !cut) return fail(name, lines.length, 'the last line is incomplete (no newline): cut off or torn');
    if (lines.length === 0) return fail(name, 1, 'the file is empty: it should start with an anchor');
    for (const [j, raw] of lines.entries()) {
      const at = j + 1;
      let line: AuditLine;
      try {
        line = JSON.parse(raw) as AuditLine;
      } catch {
        return fail(name, at, 'not a JSON line');
      }
      if (typeof line !== 'object' || line === null || typeof line.hash !== 'string') return fail(name, at, 'not an audit line (no hash)');
      if (j === 0 && line.type === 'anchor') {
        const mac = (line as AuditAnchor).mac === 'hmac-sha256';
        if (mac && !opts.key) return fail(name, at, 'this file is keyed (HMAC-SHA256): verifying it needs the key (--key-env or --key-file, or --config)');
        if (!mac && keyed && opts.key) return fail(name, at, 'this file is not keyed but the one before is: the chain was rewritten without the key');
        keyed = mac;
        if (mac) keyedFiles++;
      }
      if (lineHash(line, keyed ? opts.key : undefined) !== line.hash) return fail(name, at, keyed ? 'the HMAC does not match the content: the line was edited (or the key is wrong)' : 'the hash does not match the content: the line was edited');
      if (j === 0) {
        if (line.type !== 'anchor') return fail(name, at, 'the first line is not an anchor: lines at the start of the file were removed');
        const anchor = line as AuditAnchor;
        if (anchor.file !== name) return fail(name, at, `the anchor names file ${anchor.file}: the file was renamed or copied`);
        const brk = breakOf(files, name);
        if (brk) {
          // A named break: the file before this segment was lost under the hub, and its first record says what of it.
          const problem = breakProblem(brk, anchor, { names, i, lastHash, expectedSeq });
          if (problem) return fail(name, at, problem);
          breaks.push(`${brk.file} ${brk.how}: ${brk.lost_records} records (${brk.lost_bytes} bytes) lost after seq ${brk.last_good_seq}`);
          if (i === 0) firstSeq = anchor.seq;
          expectedSeq = anchor.seq;
        } else if (i === 0) {
          if (anchor.prev_file === null) {
            if (anchor.prev_hash !== GENESIS_HASH || anchor.seq !== 1) return fail(name, at, 'the first anchor does not start at the genesis hash');
          } else {
            start = { file: name, anchor_hash: anchor.hash, missing: anchor.prev_file };
          }
          expectedSeq = anchor.seq;
          firstSeq = anchor.seq;
        } else {
          if (anchor.prev_file !== names[i - 1]) return fail(name, at, `the anchor continues ${anchor.prev_file ?? '(nothing)'} but the file before is ${names[i - 1]}: a file is missing`);
          if (anchor.prev_hash !== lastHash) return fail(name, at, `the anchor does not chain to the last line of ${names[i - 1]}: records at its end were removed or changed`);
          if (anchor.seq !== expectedSeq) return fail(name, at, `the anchor expects seq ${anchor.seq}, the chain is at ${expectedSeq}`);
        }
        lastHash = anchor.hash;
        continue;
      }
      if (line.type !== 'record') return fail(name, at, `unexpected ${String((line as { type?: unknown }).type)} line inside a file`);
      const rec = line as AuditRecord;
      if (rec.prev_hash !== lastHash) return fail(name, at, 'prev_hash does not match the line before: a record was deleted, inserted or reordered here');
      if (rec.seq !== expectedSeq) return fail(name, at, `seq ${rec.seq} where ${expectedSeq} was expected`);
      if (rec.retention?.chain_starts_at) starts.push(rec.retention.chain_starts_at);
      if (head && rec.seq === head.seq) hashAtHeadSeq = rec.hash;
      lastHash = rec.hash;
      expectedSeq++;
      records++;
    }
  }

  if (start) {
    const s = start;
    if (!starts.some((m) => m.file === s.file && m.anchor_hash === s.anchor_hash)) {
      return fail(s.file, 1, `the chain starts after ${s.missing}, which is missing, and no retention record accounts for it: files were deleted`);
    }
  }
  if (head) {
    const lastSeq = expectedSeq - 1;
    if (opts.key) {
      const problem = headMacProblem(head, opts.key);
      if (problem) return fail('HEAD', 1, problem);
    }
    if (head.seq > lastSeq) {
      return fail(names[names.length - 1] ?? '(no files)', 0, `HEAD says the chain reached seq ${head.seq} but the files end at seq ${lastSeq}: records at the end were removed`);
    }
    if (hashAtHeadSeq !== undefined && head.hash !== hashAtHeadSeq) return fail('HEAD', 1, `the record at seq ${head.seq} is not the one HEAD names: the chain was rewritten from there`);
  }
  const lastSeq = expectedSeq - 1;
  return {
    ok: true,
    files: names.length,
    records,
    first_seq: firstSeq,
    last_seq: records || firstSeq !== null ? lastSeq : null,
    keyed_files: keyedFiles,
    breaks,
    starts: start ? `at ${start.file} (older files removed by retention, recorded in the chain)` : names.length ? 'at the genesis record' : 'empty: no audit files',
  };
}

/** The break a file's first record names (a segment started because the file before was lost), if any. */
function breakOf(files: AuditFiles, name: string): AuditBreak | undefined {
  const [first, second] = files.firstLines(name, 2);
  try {
    const anchor = JSON.parse(first) as AuditLine;
    const rec = JSON.parse(second) as AuditLine;
    if (anchor.type !== 'anchor' || rec.type !== 'record' || !rec.break) return undefined;
    return rec.break.file === anchor.prev_file ? rec.break : undefined;
  } catch {
    return undefined;
  }
}

/** Why a named break does not account for what verify found before it, or undefined when it does. */
function breakProblem(brk: AuditBreak, anchor: AuditAnchor, at: { names: string[]; i: number; lastHash: string; expectedSeq: number }): string | undefined {
  const before = at.i > 0 ? at.names[at.i - 1] : undefined;
  if (brk.how === 'deleted') {
    if (at.names.includes(brk.file)) return `the break record says ${brk.file} was deleted but it is there`;
    if (before !== undefined ? !(before < brk.file && brk.file < at.names[at.i]) : brk.last_good_seq !== 0) return `the break record names ${brk.file}, which is not the file missing before ${at.names[at.i]}`;
  } else if (brk.file !== before) return `the break record names ${brk.file} (${brk.how}) but the file before is ${before ?? '(none)'}`;
  if (anchor.prev_hash !== brk.last_good_hash || at.lastHash !== brk.last_good_hash || at.expectedSeq !== brk.last_good_seq + 1) {
    return `the break record says ${brk.file} ends at seq ${brk.last_good_seq}, but what is left before it ends at seq ${at.expectedSeq - 1} with another hash: more was removed than it names`;
  }
  if (anchor.seq !== brk.last_good_seq + 1 + brk.lost_records) return `the anchor starts at seq ${anchor.seq}, but the break names ${brk.lost_records} lost records after seq ${brk.last_good_seq}`;
  return undefined;
}

/** A cut file's lines up to the first that is torn or does not chain on (what the writer counted as surviving). */
function chainedPrefix(lines: string[], key?: Buffer): string[] {
  let prev: string | undefined;
  let keyed = false;
  for (const [j, raw] of lines.entries()) {
    let line: AuditLine;
    try {
      line = JSON.parse(raw) as AuditLine;
    } catch {
      return lines.slice(0, j);
    }
    if (typeof line !== 'object' || line === null || typeof line.hash !== 'string') return lines.slice(0, j);
    if (j === 0) keyed = line.type === 'anchor' && line.mac === 'hmac-sha256';
    if (lineHash(line, keyed ? key : undefined) !== line.hash || (prev !== undefined && line.prev_hash !== prev)) return lines.slice(0, j);
    prev = line.hash;
  }
  return lines;
}
