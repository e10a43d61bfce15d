/**
 * <query_parameters>, shared by QUERY and EXECUTE (spec section 4.1.4), and the version
 * feature rules that BATCH reuses.
 *
 *   <consistency><flags>[<n>[name_1]<value_1>...[name_n]<value_n>][<result_page_size>][<paging_state>]
 *   [<serial_consistency>][<timestamp>][<keyspace>][<now_in_seconds>][<continuous_paging_options>]
 *
 * Per version:
 *   - flags: [byte] in v2/v3/v4, [int] in v5, DSE_V1, DSE_V2 (`hasIntQueryFlags`).
 *   - v2: no default timestamp (0x20) and no named values (0x40); decoded with the v3 layout
 *     (a superset), so a v2 peer setting those bits is read as v3 would read it.
 *   - [value] "not set" (n == -2): v4+ only; in v2/v3 any negative length is null.
 *   - keyspace (0x80): v5 and DSE_V2. now_in_seconds (0x100): v5 only.
 *   - DSE_V1/DSE_V2: page size in bytes (0x40000000) and continuous paging (0x80000000) with
 *     <max_num_pages><pages_per_second>, plus <next_pages> in DSE_V2.
 * Flag bits that the version does not define are ignored on decode (and dropped on re-encode).
 * Flags are derived from the fields present on encode.
 */
import { type Consistency, ProtocolVersion, QueryFlag, atLeastV4, atLeastV5, hasIntQueryFlags, versionName } from '../constants';
import { ProtocolError } from '../errors';
import { type Reader, UNSET, type Writer, type Value } from '../primitives';

export interface NamedValue {
  name: string;
  value: Value;
}

export interface ContinuousPagingOptions {
  /** Maximum number of pages the server sends in total; 0 = no limit. */
  maxNumPages: number;
  /** Maximum pages per second; 0 = no limit. */
  pagesPerSecond: number;
  /** DSE_V2 only: pages the client is ready to receive now; 0 = no limit. */
  nextPages?: number;
}

export interface QueryParameters {
  consistency: Consistency;
  /** Positional values (flag 0x01). Mutually exclusive with `namedValues`. */
  values?: Value[];
  /** Named values (flags 0x01 | 0x40), v3+. */
  namedValues?: NamedValue[];
  /** Flag 0x02; present only when true. */
  skipMetadata?: true;
  pageSize?: number;
  /** DSE only (0x40000000): `pageSize` is in bytes. Present only when true. */
  pageSizeInBytes?: true;
  /** Opaque paging state (a view into the frame on decode). */
  pagingState?: Buffer | null;
  serialConsistency?: Consistency;
  /** Default timestamp in microseconds, v3+. */
  defaultTimestamp?: bigint;
  /** v5 and DSE_V2. */
  keyspace?: string;
  /** v5 only. */
  nowInSeconds?: number;
  /** DSE_V1/DSE_V2 only. */
  continuousPaging?: ContinuousPagingOptions;
}

// ---- version features -------------------------------------------------------------------

export function isDse(v: ProtocolVersion): boolean {
  return v === ProtocolVersion.DSE_V1 || v === ProtocolVersion.DSE_V2;
}
/** Default timestamp and named values: v3+. */
export function supportsTimestampAndNames(v: ProtocolVersion): boolean {
  return v >= ProtocolVersion.V3;
}
/** [value] n == -2 (not set): v4+. */
export function supportsUnset(v: ProtocolVersion): boolean {
  return atLeastV4(v);
}
/** Keyspace in QUERY/EXECUTE/BATCH/PREPARE: v5 and DSE_V2. */
export function supportsKeyspace(v: ProtocolVersion): boolean {
  return atLeastV5(v);
}
/** now_in_seconds in QUERY/EXECUTE/BATCH: v5 only. */
export function supportsNowInSeconds(v: ProtocolVersion): boolean {
  return v === ProtocolVersion.V5;
}
/** Flags the version defines for <query_parameters>. */
export function queryFlagMask(v: ProtocolVersion): number {
  let m =
    QueryFlag.VALUES | QueryFlag.SKIP_METADATA | QueryFlag.PAGE_SIZE | QueryFlag.PAGING_STATE | QueryFlag.SERIAL_CONSISTENCY;
  if (supportsTimestampAndNames(v)) m |= QueryFlag.DEFAULT_TIMESTAMP | QueryFlag.NAMES_FOR_VALUES;
  if (supportsKeyspace(v)) m |= QueryFlag.WITH_KEYSPACE;
  if (supportsNowInSeconds(v)) m |= QueryFlag.NOW_IN_SECONDS;
  if (isDse(v)) m |= QueryFlag.DSE_PAGE_SIZE_BYTES | QueryFlag.DSE_CONTINUOUS_PAGING;
  return m;
}

export function unsupported(what: string, v: ProtocolVersion): RangeError {
  return new RangeError(`${what} is not supported in protocol ${versionName(v)}`);
}

// ---- values -------------------------------------------------------------------------------

/** A bound [value]; before v4 it is a [bytes] (any negative length is null). */
export function readBoundValue(r: Reader, v: ProtocolVersion, what: string): Value {
  const n = r.readInt(`${what} length`);
  if (n >= 0) return r.readRaw(n, what);
  if (!supportsUnset(v) || n === -1) return null;
  if (n === -2) return UNSET;
  throw new ProtocolError('invalid-value', `cannot read ${what}: invalid length ${n}`);
}

export function writeBoundValue(w: Writer, value: Value, v: ProtocolVersion): void {
  if (value === UNSET && !supportsUnset(v)) throw unsupported('an unset [value]', v);
  w.writeValue(value);
}

/** Reads <n> then n values, named if `named` (n is a [short]). */
export function readValueList(r: Reader, v: ProtocolVersion, what: string): Value[] {
  const n = r.readShort(`${what} count`);
  // Each value needs at least 4 bytes: check before allocating the array.
  if (n * 4 > r.remaining) {
    throw new ProtocolError(
      'truncated',
      `cannot read ${what}: ${n} values need at least ${n * 4} bytes, only ${r.remaining} left`,
    );
  }
  const out: Value[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = readBoundValue(r, v, what);
  return out;
}

export function readNamedValueList(r: Reader, v: ProtocolVersion, what: string): NamedValue[] {
  const n = r.readShort(`${what} count`);
  if (n * 6 > r.remaining) {
    throw new ProtocolError(
      'truncated',
      `cannot read ${what}: ${n} named values need at least ${n * 6} bytes, only ${r.remaining} left`,
    );
  }
  const out: NamedValue[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const name = r.readString(`${what} name`);
    out[i] = { name, value: readBoundValue(r, v, what) };
  }
  return out;
}

// ---- codec --------------------------------------------------------------------------------

export function encodeQueryParameters(p: QueryParameters, v: ProtocolVersion, w: Writer): void {
  if (p.values !== undefined && p.namedValues !== undefined) {
    throw new RangeError('query parameters cannot have both positional and named values');
  }
  let flags = 0;
  if (p.values !== undefined) flags |= QueryFlag.VALUES;
  if (p.namedValues !== undefined) flags |= QueryFlag.VALUES | QueryFlag.NAMES_FOR_VALUES;
  if (p.skipMetadata) flags |= QueryFlag.SKIP_METADATA;
  if (p.pageSize !== undefined) flags |= QueryFlag.PAGE_SIZE;
  if (p.pagingState !== undefined) flags |= QueryFlag.PAGING_STATE;
  if (p.serialConsistency !== undefined) flags |= QueryFlag.SERIAL_CONSISTENCY;
  if (p.defaultTimestamp !== undefined) flags |= QueryFlag.DEFAULT_TIMESTAMP;
  if (p.keyspace !== undefined) flags |= QueryFlag.WITH_KEYSPACE;
  if (p.nowInSeconds !== undefined) flags |= QueryFlag.NOW_IN_SECONDS;
  if (p.pageSizeInBytes) flags |= QueryFlag.DSE_PAGE_SIZE_BYTES;
  if (p.continuousPaging !== undefined) flags |= QueryFlag.DSE_CONTINUOUS_PAGING;
  const unsupportedFlags = flags & ~queryFlagMask(v);
  if (unsupportedFlags !== 0) throw unsupported(`query flag(s) 0x${(unsupportedFlags >>> 0).toString(16)}`, v);
  if (p.continuousPaging?.nextPages !== undefined && v !== ProtocolVersion.DSE_V2)
    throw unsupported('continuous paging next_pages', v);

  w.writeShort(p.consistency);
  if (hasIntQueryFlags(v)) w.writeUInt(flags >>> 0);
  else w.writeByte(flags);
  if (p.values !== undefined) {
    w.writeShort(p.values.length);
    for (const value of p.values) writeBoundValue(w, value, v);
  } else if (p.namedValues !== undefined) {
    w.writeShort(p.namedValues.length);
    for (const nv of p.namedValues) {
      w.writeString(nv.name);
      writeBoundValue(w, nv.value, v);
    }
  }
  if (p.pageSize !== undefined) w.writeInt(p.pageSize);
  if (p.pagingState !== undefined) w.writeBytes(p.pagingState);
  if (p.serialConsistency !== undefined) w.writeShort(p.serialConsistency);
  if (p.defaultTimestamp !== undefined) w.writeLong(p.defaultTimestamp);
  if (p.keyspace !== undefined) w.writeString(p.keyspace);
  if (p.nowInSeconds !== undefined) w.writeInt(p.nowInSeconds);
  if (p.continuousPaging !== undefined) {
    w.writeInt(p.continuousPaging.maxNumPages);
    w.writeInt(p.continuousPaging.pagesPerSecond);
    if (v === ProtocolVersion.DSE_V2) w.writeInt(p.continuousPaging.nextPages ?? 0);
  }
}

export function decodeQueryParameters(r: Reader, v: ProtocolVersion): QueryParameters {
  const consistency = r.readShort('<consistency>') as Consistency;
  const flags = (hasIntQueryFlags(v) ? r.readUInt('<flags>') : r.readByte('<flags>')) & queryFlagMask(v);
  const p: QueryParameters = { consistency };
  if (flags & QueryFlag.VALUES) {
    if (flags & QueryFlag.NAMES_FOR_VALUES) p.namedValues = readNamedValueList(r, v, '<query_parameters> named [value]');
    else p.values = readValueList(r, v, '<query_parameters> [value]');
  }
  if (flags & QueryFlag.SKIP_METADATA) p.skipMetadata = true;
  if (flags & QueryFlag.PAGE_SIZE) p.pageSize = r.readInt('<result_page_size>');
  if (flags & QueryFlag.DSE_PAGE_SIZE_BYTES) p.pageSizeInBytes = true;
  if (flags & QueryFlag.PAGING_STATE) p.pagingState = r.readBytes('<paging_state>');
  if (flags & QueryFlag.SERIAL_CONSISTENCY) p.serialConsistency = r.readShort('<serial_consistency>') as Consistency;
  if (flags & QueryFlag.DEFAULT_TIMESTAMP) p.defaultTimestamp = r.readLong('<timestamp>');
  if (flags & QueryFlag.WITH_KEYSPACE) p.keyspace = r.readString('<keyspace>');
  if (flags & QueryFlag.NOW_IN_SECONDS) p.nowInSeconds = r.readInt('<now_in_seconds>');
  if (flags & QueryFlag.DSE_CONTINUOUS_PAGING) {
    const maxNumPages = r.readInt('<max_num_pages>');
    const pagesPerSecond = r.readInt('<pages_per_second>');
    p.continuousPaging =
      v === ProtocolVersion.DSE_V2
        ? { maxNumPages, pagesPerSecond, nextPages: r.readInt('<next_pages>') }
        : { maxNumPages, pagesPerSecond };
  }
  return p;
}
