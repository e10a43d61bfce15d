/**
 * On-disk format of the one-sided write journal (src/journal/): append-only, length-prefixed records,
 * each checked by a CRC so that a torn tail (a process killed in the middle of an append) is detected and
 * ignored. Bytes live here, with the rest of the wire/format code.
 *
 *   record  = magic:u32 ("ZDJ1") | payloadLength:u32 | crc32(payload):u32 | payload
 *   payload = metaLength:u32 | meta (UTF-8 JSON, JournalMeta) | message (the request message as sent to the
 *             cluster that failed: uncompressed, without envelope)
 *
 * Big-endian integers. A reader stops at the first record that is incomplete or whose magic or CRC does not
 * match: everything before it is valid, everything from it on is the torn tail.
 */
import type { ClusterName } from '../cluster';
import { crc32 } from './crc';

export const JOURNAL_MAGIC = 0x5a444a31; // "ZDJ1"
export const RECORD_HEADER_BYTES = 12;
/** A record larger than this is treated as corruption (bigger than any frame the proxy accepts plus its meta). */
export const MAX_RECORD_BYTES = 0x7fffffff;

/** What the journal keeps about a one-sided write besides the message bytes. */
export interface JournalMeta {
  /** format version of the meta */
  v: 1;
  /** ISO time the failure was known */
  time: string;
  /** the cluster that did not apply the write */
  failedOn: ClusterName;
  /** the error that cluster answered, or a timeout description */
  error: string;
  /** protocol version of the request */
  version: number;
  /** opcode (QUERY, EXECUTE, BATCH) */
  opcode: number;
  /** the session keyspace when the request was sent ('' = none) */
  keyspace: string;
  /** consistency name */
  consistency: string;
  /** write timestamp (microseconds since the epoch, decimal) both clusters were meant to store */
  timestamp: string;
  /** where the timestamp came from: in the request ('request'), or the proxy's clock at dispatch ('proxy') */
  timestampSource: 'request' | 'proxy';
  /** EXECUTE/BATCH: prepared statements used, by id (hex) of the failing cluster: query text and keyspace */
  prepared?: Record<string, { query: string; keyspace: string }>;
  /** statement text for listings (QUERY text, prepared query, or the batch's statements joined by '; ') */
  statement: string;
  /** counters, list appends/prepends, conditional updates: replay skips them unless forced */
  nonIdempotent?: string;
}

export interface JournalRecord {
  /** byte offset of the record in the file (its identity: done markers refer to it) */
  offset: number;
  /** total size on disk */
  size: number;
  meta: JournalMeta;
  message: Buffer;
}

export function encodeJournalRecord(meta: JournalMeta, message: Buffer): Buffer {
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const payloadLength = 4 + metaBytes.length + message.length;
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadLength);
  out.writeUInt32BE(JOURNAL_MAGIC, 0);
  out.writeUInt32BE(payloadLength, 4);
  out.writeUInt32BE(metaBytes.length, RECORD_HEADER_BYTES);
  metaBytes.copy(out, RECORD_HEADER_BYTES + 4);
  message.copy(out, RECORD_HEADER_BYTES + 4 + metaBytes.length);
  out.writeUInt32BE(crc32(out, RECORD_HEADER_BYTES, out.length) >>> 0, 8);
  return out;
}

export interface ScanResult {
  records: JournalRecord[];
  /** end of the last valid record */
  validBytes: number;
  /** bytes after it (a torn or corrupt tail); 0 when the file ends cleanly */
  tailBytes: number;
  /** why the scan stopped before the end ('' when it did not) */
  tailReason: string;
}

/**
 * Scan a journal's bytes (`base` = file offset of `buf[0]`). `decodeMeta` false: records are counted, their meta
 * and message left unparsed (meta = undefined as never) for a quick size scan.
 */
export function scanJournal(buf: Buffer, base = 0, decodeMeta = true): ScanResult {
  const records: JournalRecord[] = [];
  let pos = 0;
  let reason = '';
  while (pos < buf.length) {
    if (buf.length - pos < RECORD_HEADER_BYTES) {
      reason = `incomplete record header at offset ${base + pos}`;
      break;
    }
    if (buf.readUInt32BE(pos) !== JOURNAL_MAGIC) {
      reason = `bad record magic at offset ${base + pos}`;
      break;
    }
    const len = buf.readUInt32BE(pos + 4);
    if (len < 4 || len > MAX_RECORD_BYTES || pos + RECORD_HEADER_BYTES + len > buf.length) {
      reason = `incomplete record at offset ${base + pos} (${len} payload bytes announced, ${buf.length - pos - RECORD_HEADER_BYTES} present)`;
      break;
    }
    const start = pos + RECORD_HEADER_BYTES;
    const end = start + len;
    if (crc32(buf, start, end) >>> 0 !== buf.readUInt32BE(pos + 8)) {
      reason = `CRC mismatch at offset ${base + pos}`;
      break;
    }
    const metaLen = buf.readUInt32BE(start);
    if (4 + metaLen > len) {
      reason = `bad meta length at offset ${base + pos}`;
      break;
    }
    let meta: JournalMeta;
    if (decodeMeta) {
      try {
        meta = JSON.parse(buf.toString('utf8', start + 4, start + 4 + metaLen)) as JournalMeta;
      } catch {
        reason = `unreadable record meta at offset ${base + pos}`;
        break;
      }
    } else {
      meta = undefined as never;
    }
    records.push({ offset: base + pos, size: RECORD_HEADER_BYTES + len, meta, message: buf.subarray(start + 4 + metaLen, end) });
    pos = end;
  }
  return { records, validBytes: base + pos, tailBytes: buf.length - pos, tailReason: reason };
}
