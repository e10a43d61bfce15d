/**
 * `now()` replacement in statement text (spec 4.6, upstream `queryinspector.go`
 * `replaceNowFunctionCallsWith*`). Pure string work on the call sites found by `inspect()`.
 *
 *  - QUERY / text BATCH children: each `now()` -> a literal timeuuid (a new one per occurrence);
 *  - PREPARE: each `now()` -> `?`, or `:zdm__now` when the statement already uses named markers
 *    (every occurrence gets the same name).
 */
import type { NowCallSite, StatementInfo } from './inspector';

/** Name of the generated named marker (upstream v2.x; was `cloudgate__now` before). */
export const NOW_NAMED_MARKER = 'zdm__now';

export type NowReplacement =
  | { kind: 'literal'; next: () => string }
  | { kind: 'positional' }
  | { kind: 'named' };

export interface NowRewriteResult {
  query: string;
  /** the replaced call sites, in text order (offsets refer to the original text) */
  replaced: readonly NowCallSite[];
}

/** Marker style upstream uses when preparing a statement with now() calls. */
export function preparedNowReplacement(info: StatementInfo): NowReplacement {
  return info.hasNamedMarkers ? { kind: 'named' } : { kind: 'positional' };
}

/** Replaces every `now()` call site of `info` (inspected from `cql`). Unchanged text when there is none. */
export function replaceNowCalls(cql: string, info: StatementInfo, how: NowReplacement): NowRewriteResult {
  const sites = info.nowCalls;
  if (sites.length === 0) return { query: cql, replaced: sites };
  let out = '';
  let pos = 0;
  for (const site of sites) {
    out += cql.slice(pos, site.start);
    out += how.kind === 'literal' ? how.next() : how.kind === 'positional' ? '?' : ':' + NOW_NAMED_MARKER;
    pos = site.end;
  }
  out += cql.slice(pos);
  return { query: out, replaced: sites };
}
