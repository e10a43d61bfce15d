/**
 * Live read comparison, step 1 (decisions only): is the secondary's RESULT the same as the primary's
 * for the same request? Pure: decoded RESULT messages in, a verdict out; no I/O, no timers.
 *
 *  - Only ROWS results of one table are compared; the table's key columns (partition key, then
 *    clustering columns, as `system_schema.columns` lists them) must all be selected.
 *  - Only comparable pages: the first page (the request carried no paging state), or a later page
 *    when both replies end at the same paging state. Anything else is `skipped` with the reason.
 *  - Columns: the same names in the same order, types the same or of one family (`cell.ts`: `int`/`bigint`),
 *    and the key columns of the same types; otherwise `skipped` (`columns-differ`: a schema difference).
 *  - Rows are matched by their key cells (raw bytes), so row order is ignored; values are compared as
 *    bytes after the column types are aligned: a column of another type on each side (`int` / `bigint`)
 *    is compared by value (`cell.ts`). When either side has more pages, a row present on one side only is
 *    not counted (it may be on the other side's next page); with both results complete it is a difference.
 *
 * Called by `DualReadComparer` (dual-read-comparer.ts), off the client's reply path. See `confirmer.ts`
 * for the noise model.
 */
import { ResultKind } from '../protocol/constants';
import type { Result, Row, RowsResult } from '../protocol/messages/result';
import type { ColumnSpec } from '../protocol/messages/result-metadata';
import { ProtocolVersion } from '../protocol/constants';
import type { DataType } from '../protocol/values';
import { alignable, sameCell, typesDiffer } from './cell';

export type SkipReason =
  | 'not-rows' // VOID, SET_KEYSPACE... on either side
  | 'no-metadata' // skip_metadata and no known columns
  | 'not-one-table' // columns of several tables, or none
  | 'no-key-columns' // the table's key columns are unknown (not in the schema cache)
  | 'key-not-selected' // aggregates, partial selections: rows cannot be matched
  | 'columns-differ' // different names or types: a schema difference
  | 'later-page'; // a page after the first whose paging states differ

/** A row that is not the same on both sides. */
export interface RowDifference {
  /** raw key cells, in key column order */
  key: readonly Buffer[];
  /** names of the columns whose bytes differ; for a row present on one side only: every column */
  columns: readonly string[];
  /** which side lacks the row, when one does */
  missingOn?: 'primary' | 'secondary';
  /** the cells of each side (absent for the side that lacks the row) */
  primary?: Row;
  secondary?: Row;
}

export type Comparison =
  | { result: 'match'; keyspace: string; table: string; rows: number }
  | { result: 'skipped'; reason: SkipReason; keyspace?: string; table?: string }
  | {
      result: 'differ';
      keyspace: string;
      table: string;
      rows: number;
      differences: RowDifference[];
      columns: readonly ColumnSpec[];
    };

export interface CompareInput {
  primary: Result;
  secondary: Result;
  /** the request carried a paging state (not a first page) */
  requestHadPagingState: boolean;
  /** key column names of a table (partition then clustering), undefined when unknown */
  keyColumns(keyspace: string, table: string): readonly string[] | undefined;
  /** columns of the rows when a result carries none (skip_metadata: from the prepared statement) */
  knownColumns?: readonly ColumnSpec[];
  /** protocol version of the replies (decoding cells whose column types differ); default v4 */
  version?: ProtocolVersion;
}

/** The same names, in the same order, with types that are the same or can be aligned (`cell.ts`). */
function sameColumns(a: readonly ColumnSpec[], b: readonly ColumnSpec[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.name !== b[i]!.name || !alignable(a[i]!.type, b[i]!.type)) return false;
  return true;
}

function sameBytes(a: Buffer | null | undefined, b: Buffer | null | undefined): boolean {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (b === null || b === undefined) return false;
  return a.equals(b);
}

/** Map key of a row: its key cells, each length-prefixed (null = -1), as one latin1 string. */
function rowKey(row: Row, keyIdx: readonly number[]): string {
  let s = '';
  for (const i of keyIdx) {
    const c = row[i];
    s += c === null || c === undefined ? '-1:' : `${c.length}:${c.toString('latin1')}`;
  }
  return s;
}

/** Compare the primary's and the secondary's RESULT of the same request. */
export function compareResults(input: CompareInput): Comparison {
  const { primary, secondary } = input;
  if (primary.kind !== ResultKind.ROWS || secondary.kind !== ResultKind.ROWS) return { result: 'skipped', reason: 'not-rows' };
  const p = primary as RowsResult;
  const s = secondary as RowsResult;
  const pCols = p.metadata.columns ?? input.knownColumns;
  const sCols = s.metadata.columns ?? input.knownColumns;
  if (!pCols || !sCols) return { result: 'skipped', reason: 'no-metadata' };
  if (pCols.length === 0) return { result: 'skipped', reason: 'not-one-table' };
  const { keyspace, table } = pCols[0]!;
  if (pCols.some((c) => c.keyspace !== keyspace || c.table !== table)) return { result: 'skipped', reason: 'not-one-table' };
  if (input.requestHadPagingState) {
    const ps = p.metadata.pagingState;
    const ss = s.metadata.pagingState;
    if (!sameBytes(ps, ss)) return { result: 'skipped', reason: 'later-page', keyspace, table };
  }
  if (!sameColumns(pCols, sCols)) return { result: 'skipped', reason: 'columns-differ', keyspace, table };
  const keyNames = input.keyColumns(keyspace, table);
  if (!keyNames || keyNames.length === 0) return { result: 'skipped', reason: 'no-key-columns', keyspace, table };
  const keyIdx: number[] = [];
  for (const k of keyNames) {
    const i = pCols.findIndex((c) => c.name === k);
    if (i < 0) return { result: 'skipped', reason: 'key-not-selected', keyspace, table };
    // rows are matched by their key bytes: a key column of another type on each side cannot be
    if (typesDiffer(pCols[i]!.type, sCols[i]!.type)) return { result: 'skipped', reason: 'columns-differ', keyspace, table };
    keyIdx.push(i);
  }
  // per column: undefined = same type (bytes compared), else both types (compared by value)
  const aligned: ({ primary: DataType; secondary: DataType } | undefined)[] = pCols.map((c, i) =>
    typesDiffer(c.type, sCols[i]!.type) ? { primary: c.type, secondary: sCols[i]!.type } : undefined,
  );
  const version = input.version ?? ProtocolVersion.V4;
  const complete = p.metadata.pagingState == null && s.metadata.pagingState == null;
  const secondaryRows = new Map<string, Row>();
  for (const row of s.rows) secondaryRows.set(rowKey(row, keyIdx), row);
  const differences: RowDifference[] = [];
  const keyOf = (row: Row) => keyIdx.map((i) => Buffer.from(row[i] ?? Buffer.alloc(0)));
  const allColumns = pCols.map((c) => c.name);
  for (const row of p.rows) {
    const k = rowKey(row, keyIdx);
    const other = secondaryRows.get(k);
    if (other === undefined) {
      if (complete) differences.push({ key: keyOf(row), columns: allColumns, missingOn: 'secondary', primary: row });
      continue;
    }
    secondaryRows.delete(k);
    const cols: string[] = [];
    for (let i = 0; i < pCols.length; i++) if (!sameCell(row[i], other[i], aligned[i], version)) cols.push(pCols[i]!.name);
    if (cols.length > 0) differences.push({ key: keyOf(row), columns: cols, primary: row, secondary: other });
  }
  if (complete) {
    for (const row of secondaryRows.values())
      differences.push({ key: keyOf(row), columns: allColumns, missingOn: 'primary', secondary: row });
  }
  if (differences.length === 0) return { result: 'match', keyspace, table, rows: p.rows.length };
  return { result: 'differ', keyspace, table, rows: p.rows.length, differences, columns: pCols };
}
