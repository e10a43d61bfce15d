/**
 * BATCH (0x0D, request; spec section 4.1.7):
 *   <type: [byte]><n: [short]><query_1>...<query_n><consistency>[<flags>[<serial_consistency>][<timestamp>][<keyspace>][<now_in_seconds>]]
 * with <query_i> = <kind: [byte]><string_or_id><n: [short]>[<name_1>]<value_1>...
 *   kind 0: [long string] query text; kind 1: [short bytes] prepared id.
 *
 * Per version: v2 has no flags at all (nothing follows <consistency>); v3/v4 [byte] flags;
 * v5, DSE_V1, DSE_V2 [int] flags. Flags: 0x10 serial consistency, 0x20 default timestamp,
 * 0x40 names for values (v3+; "does not work" per the spec: rejected as 'invalid-value'), 0x80 keyspace
 * (v5, DSE_V2), 0x100 now_in_seconds (v5). Other flag bits are ignored on decode.
 */
import { type BatchType, type Consistency, Opcode, ProtocolVersion, QueryFlag, hasIntQueryFlags } from '../constants';
import { ProtocolError } from '../errors';
import type { Reader, Value, Writer } from '../primitives';
import { readValueList, supportsKeyspace, supportsNowInSeconds, unsupported, writeBoundValue } from './query-parameters';

export type BatchChild = BatchQueryChild | BatchPreparedChild;

export interface BatchQueryChild {
  kind: 'query';
  query: string;
  values: Value[];
}
export interface BatchPreparedChild {
  kind: 'prepared';
  /** Prepared statement id (a view into the frame on decode). */
  id: Buffer;
  values: Value[];
}

export interface Batch {
  opcode: Opcode.BATCH;
  type: BatchType;
  children: BatchChild[];
  consistency: Consistency;
  serialConsistency?: Consistency;
  defaultTimestamp?: bigint;
  /** v5 and DSE_V2. */
  keyspace?: string;
  /** v5 only. */
  nowInSeconds?: number;
}

export const BatchChildKind = { QUERY: 0, PREPARED: 1 } as const;

function batchFlagMask(v: ProtocolVersion): number {
  if (v === ProtocolVersion.V2) return 0;
  let m = QueryFlag.SERIAL_CONSISTENCY | QueryFlag.DEFAULT_TIMESTAMP | QueryFlag.NAMES_FOR_VALUES;
  if (supportsKeyspace(v)) m |= QueryFlag.WITH_KEYSPACE;
  if (supportsNowInSeconds(v)) m |= QueryFlag.NOW_IN_SECONDS;
  return m;
}

export function encodeBatch(msg: Batch, version: ProtocolVersion, w: Writer): void {
  let flags = 0;
  if (msg.serialConsistency !== undefined) flags |= QueryFlag.SERIAL_CONSISTENCY;
  if (msg.defaultTimestamp !== undefined) flags |= QueryFlag.DEFAULT_TIMESTAMP;
  if (msg.keyspace !== undefined) flags |= QueryFlag.WITH_KEYSPACE;
  if (msg.nowInSeconds !== undefined) flags |= QueryFlag.NOW_IN_SECONDS;
  const bad = flags & ~batchFlagMask(version);
  if (bad !== 0) throw unsupported(`batch flag(s) 0x${bad.toString(16)}`, version);
  if (msg.children.length > 0xffff) throw new RangeError(`a BATCH holds at most 65535 statements, got ${msg.children.length}`);

  w.writeByte(msg.type);
  w.writeShort(msg.children.length);
  for (const child of msg.children) {
    if (child.kind === 'query') w.writeByte(BatchChildKind.QUERY).writeLongString(child.query);
    else w.writeByte(BatchChildKind.PREPARED).writeShortBytes(child.id);
    if (child.values.length > 0xffff)
      throw new RangeError(`a BATCH statement holds at most 65535 values, got ${child.values.length}`);
    w.writeShort(child.values.length);
    for (const value of child.values) writeBoundValue(w, value, version);
  }
  w.writeShort(msg.consistency);
  if (version === ProtocolVersion.V2) return;
  if (hasIntQueryFlags(version)) w.writeUInt(flags);
  else w.writeByte(flags);
  if (msg.serialConsistency !== undefined) w.writeShort(msg.serialConsistency);
  if (msg.defaultTimestamp !== undefined) w.writeLong(msg.defaultTimestamp);
  if (msg.keyspace !== undefined) w.writeString(msg.keyspace);
  if (msg.nowInSeconds !== undefined) w.writeInt(msg.nowInSeconds);
}

export function decodeBatch(r: Reader, version: ProtocolVersion): Batch {
  const type = r.readByte('BATCH type') as BatchType;
  const n = r.readShort('BATCH statement count');
  // Each statement takes at least 5 bytes: a prepared one with an empty id is <kind: byte><id: short 0><n: short 0>
  // (a query one at least 7: its [long string] length is an int). Check before allocating.
  if (n * 5 > r.remaining) {
    throw new ProtocolError(
      'truncated',
      `cannot read BATCH: ${n} statements need at least ${n * 5} bytes, only ${r.remaining} left`,
    );
  }
  const children: BatchChild[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = r.readByte('BATCH statement kind');
    if (kind === BatchChildKind.QUERY) {
      const query = r.readLongString('BATCH query string');
      children[i] = { kind: 'query', query, values: readValueList(r, version, 'BATCH [value]') };
    } else if (kind === BatchChildKind.PREPARED) {
      const id = r.readShortBytes('BATCH prepared id');
      children[i] = { kind: 'prepared', id, values: readValueList(r, version, 'BATCH [value]') };
    } else {
      throw new ProtocolError('invalid-value', `BATCH statement kind ${kind} is neither 0 (query) nor 1 (prepared)`);
    }
  }
  const consistency = r.readShort('BATCH consistency') as Consistency;
  const msg: Batch = { opcode: Opcode.BATCH, type, children, consistency };
  if (version === ProtocolVersion.V2) return msg;
  const flags = (hasIntQueryFlags(version) ? r.readUInt('BATCH flags') : r.readByte('BATCH flags')) & batchFlagMask(version);
  if (flags & QueryFlag.NAMES_FOR_VALUES) {
    // The values were already read without names: the flag cannot be honoured (CASSANDRA-10246).
    throw new ProtocolError('invalid-value', 'BATCH with names for values (flag 0x40) is not supported (see CASSANDRA-10246)');
  }
  if (flags & QueryFlag.SERIAL_CONSISTENCY) msg.serialConsistency = r.readShort('BATCH serial consistency') as Consistency;
  if (flags & QueryFlag.DEFAULT_TIMESTAMP) msg.defaultTimestamp = r.readLong('BATCH timestamp');
  if (flags & QueryFlag.WITH_KEYSPACE) msg.keyspace = r.readString('BATCH keyspace');
  if (flags & QueryFlag.NOW_IN_SECONDS) msg.nowInSeconds = r.readInt('BATCH now_in_seconds');
  return msg;
}
