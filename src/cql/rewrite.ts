/**
 * Pinned CQL functions in statement text (`replace_cql_functions`; upstream-spec-notes 4.6, upstream
 * `queryinspector.go` `replaceNowFunctionCallsWith*`, extended to every non-deterministic function
 * in any term position). Pure string work on the call sites found by `inspect()` (`functionCalls`).
 *
 *  - QUERY / text BATCH children: each call -> a literal (a new value per occurrence);
 *  - PREPARE: each call -> a bind marker, `?`, or a named marker when the statement already uses
 *    named markers (`:zdm__now` for now()/currentTimeUUID(), `:zdm__<function>` for the others).
 *
 * A whole-term `now()` becomes a plain `?` / `:zdm__now` / literal, as upstream. Every other site gets
 * a type hint, `(timeuuid)?`, `(date)'2026-12-03'`...: the marker or literal then has exactly the type
 * of the function's result, so overloads (`toTimestamp(now())`) resolve as they did and a misplaced
 * call (a date into a text column) is refused by Cassandra as the original would be.
 */
import type { FunctionCallSite, PinnedFunction, StatementInfo } from './inspector';

/** Name of the generated named marker for now() (upstream v2.x; was `cloudgate__now` before). */
export const NOW_NAMED_MARKER = 'zdm__now';

/** CQL type of each pinned function's result. */
export const PINNED_FUNCTION_TYPES: Readonly<Record<PinnedFunction, string>> = {
  now: 'timeuuid',
  currenttimeuuid: 'timeuuid',
  uuid: 'uuid',
  currenttimestamp: 'timestamp',
  currentdate: 'date',
  currenttime: 'time',
};

/** Named marker written for a call of `fn` in a statement with named markers. */
export function namedMarkerFor(fn: PinnedFunction): string {
  return fn === 'now' || fn === 'currenttimeuuid' ? NOW_NAMED_MARKER : `zdm__${fn}`;
}

/** True when the site is written without a type hint (upstream's whole-term `now()`). */
export function isPlainSite(site: FunctionCallSite): boolean {
  return site.fn === 'now' && site.wholeTerm;
}

export type NowReplacement =
  | { kind: 'literal'; next: (site: FunctionCallSite) => string }
  | { kind: 'positional' }
  | { kind: 'named' };

export interface NowRewriteResult {
  query: string;
  /** the replaced call sites, in text order (offsets refer to the original text) */
  replaced: readonly FunctionCallSite[];
}

/** Marker style upstream uses when preparing a statement with now() calls. */
export function preparedNowReplacement(info: StatementInfo): NowReplacement {
  return info.hasNamedMarkers ? { kind: 'named' } : { kind: 'positional' };
}

function replacementText(site: FunctionCallSite, how: NowReplacement): string {
  if (how.kind === 'literal') return how.next(site);
  const marker = how.kind === 'positional' ? '?' : `:${namedMarkerFor(site.fn)}`;
  return isPlainSite(site) ? marker : `(${PINNED_FUNCTION_TYPES[site.fn]})${marker}`;
}

/** Replaces every pinned-function call site of `info` (inspected from `cql`). Unchanged text when there is none. */
export function replaceNowCalls(cql: string, info: StatementInfo, how: NowReplacement): NowRewriteResult {
  const sites = info.functionCalls;
  if (sites.length === 0) return { query: cql, replaced: sites };
  let out = '';
  let pos = 0;
  for (const site of sites) {
    out += cql.slice(pos, site.start);
    out += replacementText(site, how);
    pos = site.end;
  }
  out += cql.slice(pos);
  return { query: out, replaced: sites };
}
