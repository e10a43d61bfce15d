/**
 * One cell of a dual read, on each side: rendered for people, and compared after the column types are aligned.
 * Cells of the same type are compared as bytes. Cells whose column has another type of the same family on each
 * cluster (numbers: `int` on Origin, `bigint` on Target, a migration that widened a column; `ascii`/`text`;
 * `uuid`/`timeuuid`) are compared by value: both are decoded and rendered the same way (`renderValue`), so
 * `int 7` equals `bigint 7`; a cell that does not decode is rendered as its bytes. Types of different families
 * (`int` and `text`) are a schema difference: the caller does not compare them.
 */
import { type DataType, type ProtocolVersion, dataTypeName, decodeValue } from '../protocol';

/** A cell value for people: text as is, numbers, uuids, dates (ISO), blobs as 0x hex. */
export function renderValue(type: DataType, bytes: Buffer | null, version: ProtocolVersion): string {
  if (bytes === null) return 'null';
  try {
    const v = decodeValue(type, bytes, version);
    if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
    if (v instanceof Date) return v.toISOString();
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
    return JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'bigint' ? x.toString() : Buffer.isBuffer(x) ? `0x${x.toString('hex')}` : x,
    );
  } catch {
    return `0x${bytes.toString('hex')}`;
  }
}

/** Types whose values stay comparable when a migration changed a column from one to another. */
const FAMILY: Record<string, string> = {
  tinyint: 'number',
  smallint: 'number',
  int: 'number',
  bigint: 'number',
  varint: 'number',
  counter: 'number',
  float: 'number',
  double: 'number',
  ascii: 'text',
  varchar: 'text',
  uuid: 'uuid',
  timeuuid: 'uuid',
};
const family = (t: DataType): string => {
  const name = dataTypeName(t);
  return FAMILY[name] ?? name;
};

/** Do two column types differ (then their cells are compared by value)? */
export function typesDiffer(a: DataType, b: DataType): boolean {
  return dataTypeName(a) !== dataTypeName(b);
}

/** Can cells of these two types be compared by value (same type, or two of one family: numbers, text, uuids)? */
export function alignable(a: DataType, b: DataType): boolean {
  return family(a) === family(b);
}

/**
 * The same cell on both sides? Bytes when `types` is undefined (same column type on both), else by value with
 * each side's type.
 */
export function sameCell(
  a: Buffer | null | undefined,
  b: Buffer | null | undefined,
  types: { primary: DataType; secondary: DataType } | undefined,
  version: ProtocolVersion,
): boolean {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (b === null || b === undefined) return false;
  if (types === undefined) return a.equals(b);
  return renderValue(types.primary, a, version) === renderValue(types.secondary, b, version);
}
