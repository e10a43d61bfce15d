// The write journal file: records with CRC, torn tails detected and cut, group commit, a full journal.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeJournalRecord, scanJournal } from '../../../src/protocol/journal-format';
import { WriteJournal, JOURNAL_FILE, DONE_FILE, readReplayResults } from '../../../src/journal/journal';
import { JournalRecorder, journalEntry, nonIdempotentReason } from '../../../src/journal/recorder';
import { encodeFrame } from '../../../src/protocol/frame-codec';
import { Opcode, ProtocolVersion, Consistency, ErrorCode } from '../../../src/protocol/constants';
import { errorFrame } from '../../../src/protocol/replies';
import { readJournal } from '../../../src/journal/replay';
import { journalMeta, quietLog } from '../../support/journal';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'zdm-journal-unit-'));
}

test('format: records round-trip; a torn tail or a flipped byte stops the scan there', () => {
  const recs = [0, 1, 2].map((i) => encodeJournalRecord(journalMeta(i), Buffer.from(`msg-${i}`)));
  const all = Buffer.concat(recs);
  const s = scanJournal(all);
  assert.equal(s.records.length, 3);
  assert.deepEqual(
    s.records.map((r) => r.meta.statement),
    ['INSERT 0', 'INSERT 1', 'INSERT 2'],
  );
  assert.equal(s.records[1]!.offset, recs[0]!.length);
  assert.equal(s.records[2]!.message.toString(), 'msg-2');
  assert.equal(s.tailBytes, 0);
  for (let cut = 1; cut < recs[2]!.length; cut++) {
    const torn = scanJournal(all.subarray(0, all.length - cut));
    assert.equal(torn.records.length, 2, `cut ${cut}`);
    assert.equal(torn.validBytes, recs[0]!.length + recs[1]!.length);
  }
  const flipped = Buffer.from(all);
  flipped[recs[0]!.length + 20]! ^= 0xff;
  const f = scanJournal(flipped);
  assert.equal(f.records.length, 1);
  assert.match(f.tailReason, /CRC mismatch/);
});

test('journal: appends are durable when the promise resolves; reopening cuts a torn tail and appends after it', async () => {
  const dir = tmp();
  try {
    const committed: string[] = [];
    const j = new WriteJournal(dir, 1 << 20, quietLog, { committed: (f) => committed.push(f) });
    const oks = await Promise.all([0, 1, 2, 3].map((i) => j.append(journalMeta(i), Buffer.from(`m${i}`))));
    assert.deepEqual(oks, [true, true, true, true]);
    assert.deepEqual(committed.sort(), ['ORIGIN', 'ORIGIN', 'TARGET', 'TARGET']);
    const path = join(dir, JOURNAL_FILE);
    assert.equal(scanJournal(readFileSync(path)).records.length, 4, 'on disk once resolved');
    assert.equal(j.state().records, 4);
    await j.close();
    // a torn tail: half a record
    const size = statSync(path).size;
    appendFileSync(path, encodeJournalRecord(journalMeta(9), Buffer.from('torn')).subarray(0, 10));
    const warnings: string[] = [];
    const j2 = new WriteJournal(dir, 1 << 20, { ...quietLog, warn: (m: string) => warnings.push(m) });
    assert.equal(statSync(path).size, size, 'torn tail cut');
    assert.match(warnings.join(), /torn tail of 10 byte/);
    assert.equal(await j2.append(journalMeta(5), Buffer.from('m5')), true);
    await j2.close();
    const s = scanJournal(readFileSync(path));
    assert.equal(s.records.length, 5);
    assert.equal(s.tailBytes, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('journal: full at journal_max_bytes: dropped, counted, one loud log line; nothing blocks', async () => {
  const dir = tmp();
  try {
    const errors: string[] = [];
    const dropped: string[] = [];
    const one = encodeJournalRecord(journalMeta(0), Buffer.from('m')).length;
    const j = new WriteJournal(
      dir,
      one * 2,
      { ...quietLog, error: (m: string) => errors.push(m) },
      { dropped: (r) => dropped.push(r) },
    );
    const r = await Promise.all([0, 2, 4, 6].map((i) => j.append(journalMeta(i), Buffer.from('m'))));
    assert.deepEqual(r, [true, true, false, false]);
    assert.deepEqual(dropped, ['full', 'full']);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /WRITE JOURNAL FULL/);
    assert.equal(j.state().full, true);
    assert.equal(j.state().dropped, 2);
    await j.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay results from the done markers; a torn last line is ignored', () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, DONE_FILE), '12 applied TARGET t\n40 applied TARGET t\n50 skipped TARGET t\n60 fail');
    assert.deepEqual(readReplayResults(dir), { applied: 2, skipped: 1 });
    truncateSync(join(dir, DONE_FILE), 0);
    assert.deepEqual(readReplayResults(dir), {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readJournal: the applied done markers per cluster (skipped, unknown cluster and a torn last line are not)', () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, JOURNAL_FILE), encodeJournalRecord(journalMeta(0), Buffer.from('msg-0')));
    writeFileSync(
      join(dir, DONE_FILE),
      '12 applied TARGET t\n40 applied ORIGIN t\n50 skipped TARGET t\n51 applied ELSEWHERE t\n52 applied TARGET',
    );
    const j = readJournal(dir);
    assert.equal(j.records.length, 1);
    assert.deepEqual([...j.done.get('TARGET')], [12]);
    assert.deepEqual([...j.done.get('ORIGIN')], [40]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('recorder: meta of a QUERY as sent (keyspace, consistency, timestamp from the request or the dispatch time)', () => {
  const frame = encodeFrame({
    version: ProtocolVersion.V4,
    isResponse: false,
    streamId: 3,
    flags: 0,
    message: { opcode: Opcode.QUERY, query: 'INSERT INTO t (k) VALUES (1)', params: { consistency: Consistency.LOCAL_QUORUM } },
  });
  const e = journalEntry({
    failedOn: 'TARGET',
    frame,
    errorReply: errorFrame(ProtocolVersion.V4, 3, ErrorCode.WRITE_TIMEOUT, 'boom'),
    timeoutMs: 1,
    keyspace: 'ks',
    dispatchedAtMs: 1_700_000_000_123.456,
  });
  assert.equal(e.meta.consistency, 'LOCAL_QUORUM');
  assert.equal(e.meta.keyspace, 'ks');
  assert.equal(e.meta.timestamp, '1700000000123456');
  assert.equal(e.meta.timestampSource, 'proxy');
  assert.match(e.meta.error, /^WRITE_TIMEOUT: boom/);
  const pinned = encodeFrame({
    version: ProtocolVersion.V4,
    isResponse: false,
    streamId: 3,
    flags: 0,
    message: {
      opcode: Opcode.QUERY,
      query: 'UPDATE c SET n = n + 1 WHERE k = 1',
      params: { consistency: Consistency.ONE, defaultTimestamp: 42n },
    },
  });
  const p = journalEntry({ failedOn: 'ORIGIN', frame: pinned, timeoutMs: 1500, keyspace: '', dispatchedAtMs: 0 });
  assert.equal(p.meta.timestamp, '42');
  assert.equal(p.meta.timestampSource, 'request');
  assert.match(p.meta.error, /no reply within 1500 ms/);
  assert.ok(p.meta.nonIdempotent);
});

test('nonIdempotentReason: counters, list appends/prepends, conditional updates', () => {
  assert.ok(nonIdempotentReason('UPDATE c SET n = n + 1 WHERE k = 1'));
  assert.ok(nonIdempotentReason("UPDATE l SET items = items + ['x'] WHERE k = 1"));
  assert.ok(nonIdempotentReason("UPDATE l SET items = ['x'] + items WHERE k = 1"));
  assert.ok(nonIdempotentReason('INSERT INTO t (k) VALUES (1) IF NOT EXISTS'));
  assert.ok(nonIdempotentReason('UPDATE t SET v = 1 WHERE k = 1 IF v = 0'));
  assert.equal(nonIdempotentReason('INSERT INTO t (k, v) VALUES (1, 2)'), undefined);
  assert.equal(nonIdempotentReason('UPDATE t SET v = ? WHERE k = ?'), undefined);
});

test('recorder: the hold of a client reply is capped at the request timeout when the journal stalls (warning, counter); a durable record releases it at once', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const frame = encodeFrame({
      version: ProtocolVersion.V4,
      isResponse: false,
      streamId: 3,
      flags: 0,
      message: { opcode: Opcode.QUERY, query: 'INSERT INTO t (k) VALUES (1)', params: { consistency: Consistency.ONE } },
    });
    const w = { failedOn: 'TARGET' as const, frame, timeoutMs: 2000, keyspace: 'ks', dispatchedAtMs: Date.now() };
    const appends: ((ok: boolean) => void)[] = [];
    const stalled = {
      dropped: 0,
      append: () => new Promise<boolean>((r) => appends.push(r)), // a disk that never answers (until told)
    };
    const warnings: string[] = [];
    let capped = 0;
    const rec = new JournalRecorder(
      stalled,
      { error: () => undefined, warn: (m) => warnings.push(m) },
      { holdCapped: () => capped++ },
    );
    let settled: boolean | undefined;
    void rec.record(w).then((ok) => (settled = ok));
    await Promise.resolve();
    mock.timers.tick(1999);
    await Promise.resolve();
    assert.equal(settled, undefined, 'still held before the cap');
    mock.timers.tick(1);
    await Promise.resolve();
    assert.equal(settled, false, 'released at the cap, as not journaled (yet)');
    assert.equal(capped, 1);
    assert.equal(rec.holdCapped, 1);
    assert.match(warnings[0] ?? '', /WRITE JOURNAL slow: .* not durable within 2000 ms/);
    appends[0]!(true); // the late commit changes nothing

    let second: boolean | undefined;
    void rec.record(w).then((ok) => (second = ok));
    appends[1]!(true);
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(second, true, 'durable: released at once');
    mock.timers.tick(5000);
    assert.equal(capped, 1, 'the cap of a released hold never trips');
  } finally {
    mock.timers.reset();
  }
});
