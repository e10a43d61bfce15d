/**
 * CQL statement inspector: classifies a QUERY/PREPARE text and extracts what routing, the virtual
 * system tables and the `now()` replacement need. Pure, never throws, linear in the input.
 *
 * Behaviour follows upstream ZDM proxy v2.4 (`antlr/SimplifiedCql.g4`, `queryinspector.go`; upstream-spec-notes 4.2):
 *  - statement type from the first keyword: SELECT, INSERT, UPDATE, DELETE, BEGIN ... BATCH, USE, CALL;
 *    CREATE/ALTER/DROP/TRUNCATE/GRANT/REVOKE... are `ddl` (upstream: "other"); anything else,
 *    the empty string, lexical errors (unterminated string/comment) and malformed statements are `other`;
 *  - keyspace/table of the statement's table name (for a text BATCH: the **last** child's);
 *    identifiers normalised: unquoted -> lower case, quoted -> exact text with `""` -> `"`;
 *  - everything after the first `;` at nesting depth 0 is ignored (upstream grammar has no EOF anchor);
 *  - `now()` call sites: only in INSERT/UPDATE/DELETE (also as text BATCH children), only a
 *    zero-argument `now()` / `system.now()` that is a whole term (casts are transparent); not inside
 *    function arguments (`toTimestamp(now())`) nor collection literals (`[now()]`, `{...}`).
 *
 * Deliberate differences from upstream (documented in the final report):
 *  - a SELECT whose `SELECT <selectors> FROM [ks.]table` prefix is well formed is a `select` whatever
 *    follows (upstream's simplified grammar turns some valid SELECTs -- `token(k)` selectors,
 *    `ORDER BY v ANN OF [...]`, `expr(...)` -- into "other", which sends reads to both clusters);
 *  - every `?` in the text is counted for positional indices (upstream misses markers nested in
 *    collection literals or in clauses it does not walk, which shifts parameter indices).
 */
import { CqlLexer, T, identifierValue, wordEquals } from './lexer';

export type StatementKind = 'select' | 'insert' | 'update' | 'delete' | 'batch' | 'use' | 'call' | 'ddl' | 'other';

/** Virtual system tables of upstream-spec-notes 4.3 (only in keyspace `system`, resolved by the caller / routing). */
export type SystemTableName = 'local' | 'peers' | 'peers_v2';

export type Selector =
  | { kind: 'column'; name: string; alias?: string }
  /** `count(*)` / `count(1)`; `name` is the `count` keyword as written (upstream names the column so) */
  | { kind: 'count'; name: string; arg: '*' | '1'; alias?: string }
  /** any other function call, e.g. `writetime(x)`, `ks.f(a, b)`; `name` normalised, qualified if written so */
  | { kind: 'function'; name: string; text: string; alias?: string }
  /** anything else (CAST, literals, arithmetic...) as written */
  | { kind: 'other'; text: string; alias?: string };

export interface BindMarker {
  kind: 'positional' | 'named';
  start: number;
  end: number;
  /** 0-based index among the positional markers (`?`) of the text; -1 for named markers */
  index: number;
  /** named markers only: normalised name */
  name?: string;
}

export interface NowCallSite {
  /** offset of the first character of the call (`now` or `system`) */
  start: number;
  /** offset just past the closing `)` */
  end: number;
  /** 0 for a single statement, child index for a text BATCH */
  statementIndex: number;
  /** index of the closest positional marker to the left, -1 if none (upstream `previousPositionalIndex`) */
  previousPositionalIndex: number;
  /**
   * index this call site's value takes if every `now()` of the text is replaced by `?`
   * (= positional markers before it + now() sites before it)
   */
  generatedPositionalIndex: number;
}

/** Non-deterministic CQL functions the proxy can pin (`replace_cql_functions`), lower case. */
export type PinnedFunction = 'now' | 'currenttimeuuid' | 'uuid' | 'currenttimestamp' | 'currentdate' | 'currenttime';
export const PINNED_FUNCTIONS: readonly PinnedFunction[] = [
  'now',
  'currenttimeuuid',
  'uuid',
  'currenttimestamp',
  'currentdate',
  'currenttime',
];

/**
 * A zero-argument call of a non-deterministic function in a write, in ANY position a term may stand
 * (whole term, function argument as in `toTimestamp(now())`, collection / UDT literal element,
 * subscript, condition).
 */
export interface FunctionCallSite extends NowCallSite {
  fn: PinnedFunction;
  /** a whole term (upstream's `now()` positions): not inside function arguments nor collection literals */
  wholeTerm: boolean;
  /** inside a list, set or map literal (Cassandra allows no bind marker there: not pinnable in a PREPARE) */
  inCollection: boolean;
}

export interface BatchChildInfo {
  kind: 'insert' | 'update' | 'delete';
  keyspace?: string;
  table?: string;
  start: number;
  end: number;
}

export interface StatementInfo {
  kind: StatementKind;
  /** keyspace written in the statement (USE: the keyspace), undefined when not written */
  keyspace?: string;
  /** table of the statement (BATCH: the last child's) */
  table?: string;
  /** SELECT only: the table name is local/peers/peers_v2 (the keyspace still has to be `system`) */
  systemTable?: SystemTableName;
  /** SELECT on a `systemTable` only: `'*'` or the selectors */
  projection?: '*' | Selector[];
  /** SELECT only: JSON / DISTINCT modifiers (upstream does not support them on virtual tables) */
  selectJson?: boolean;
  selectDistinct?: boolean;
  /** CALL only: the first identifier (RPC class name), normalised */
  callRpcName?: string;
  /** every bind marker of the statement, in text order */
  bindMarkers: readonly BindMarker[];
  positionalMarkerCount: number;
  hasNamedMarkers: boolean;
  /** INSERT/UPDATE/DELETE/BATCH only: whole-term `now()` calls (upstream's sites) */
  nowCalls: readonly NowCallSite[];
  /** INSERT/UPDATE/DELETE/BATCH only: every pinned-function call site, any position (a superset of nowCalls) */
  functionCalls: readonly FunctionCallSite[];
  /** INSERT/UPDATE/DELETE/BATCH with an `IF` clause (lightweight transaction) */
  isLwt: boolean;
  /**
   * `other` statements only: the first pinned-function call found in a text the inspector could lex
   * but not parse (its sites are unknown, so `replace_cql_functions` cannot pin it).
   */
  unpinnedCall?: PinnedFunction;
  /** BATCH only */
  batchChildren?: BatchChildInfo[];
}

const EMPTY_MARKERS: readonly BindMarker[] = Object.freeze([]);
const EMPTY_NOW: readonly NowCallSite[] = Object.freeze([]);
const EMPTY_CALLS: readonly FunctionCallSite[] = Object.freeze([]);

// Reusable token buffers (inspect() is synchronous, so sharing them is safe) --------------------
let cap = 256;
let K = new Uint8Array(cap);
let S = new Int32Array(cap);
let E = new Int32Array(cap);
let N = 0;
let SRC = '';
const lexer = new CqlLexer();

// bracket context stack for the term scanner
const CTX_GROUP = 0; // ( ... ) tuple / grouping / cast: transparent
const CTX_CALL = 1; // function arguments: opaque
const CTX_SUBSCRIPT = 2; // a[...]: transparent
const CTX_COLLECTION = 3; // [..] list, {..} set/map literal: opaque
const CTX_UDT = 4; // {field: ..} UDT literal: opaque
let ctxStack = new Uint8Array(64);

function grow(): void {
  cap *= 2;
  const k = new Uint8Array(cap);
  k.set(K);
  K = k;
  const s = new Int32Array(cap);
  s.set(S);
  S = s;
  const e = new Int32Array(cap);
  e.set(E);
  E = e;
}

/** Lexes `src` into the shared buffers, dropping trivia. Returns false on a lexical error. */
function lex(src: string): boolean {
  SRC = src;
  N = 0;
  lexer.reset(src);
  while (lexer.next()) {
    const k = lexer.kind;
    if (k === T.WS || k === T.COMMENT) continue;
    if (k === T.ERROR) return false;
    if (N === cap) grow();
    K[N] = k;
    S[N] = lexer.start;
    E[N] = lexer.end;
    N++;
  }
  return true;
}

// token helpers
function isWord(i: number, w: string): boolean {
  return i < N && K[i] === T.IDENT && wordEquals(SRC, S[i], E[i], w);
}
function isPunct(i: number, code: number): boolean {
  return i < N && K[i] === T.PUNCT && SRC.charCodeAt(S[i]) === code;
}
function isIdent(i: number): boolean {
  return i < N && (K[i] === T.IDENT || K[i] === T.QIDENT);
}
function identAt(i: number): string {
  return identifierValue(SRC, K[i], S[i], E[i]);
}
/** identifier token equal to `w` after normalisation (unquoted: case-insensitive; quoted: exact) */
function identIs(i: number, w: string): boolean {
  if (i >= N) return false;
  if (K[i] === T.IDENT) return wordEquals(SRC, S[i], E[i], w);
  if (K[i] === T.QIDENT) return E[i] - S[i] === w.length + 2 && SRC.startsWith(w, S[i] + 1);
  return false;
}

const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const COMMA = 44;
const COLON = 58;
const DOT = 46;
const SEMI = 59;
const STAR = 42;

function bracketDelta(i: number): number {
  if (K[i] !== T.PUNCT) return 0;
  const c = SRC.charCodeAt(S[i]);
  if (c === OPEN_PAREN || c === OPEN_BRACKET || c === OPEN_BRACE) return 1;
  if (c === CLOSE_PAREN || c === CLOSE_BRACKET || c === CLOSE_BRACE) return -1;
  return 0;
}

/** End (exclusive token index) of the statement starting at `from`: first `;` at depth 0, or N. */
function statementEnd(from: number): number {
  let depth = 0;
  for (let i = from; i < N; i++) {
    const d = bracketDelta(i);
    if (d !== 0) {
      depth += d;
      if (depth < 0) depth = 0;
    } else if (depth === 0 && isPunct(i, SEMI)) return i;
  }
  return N;
}

interface QName {
  keyspace?: string;
  table: string;
  next: number;
}

function parseQualifiedName(i: number): QName | undefined {
  if (!isIdent(i)) return undefined;
  if (isPunct(i + 1, DOT) && isIdent(i + 2)) {
    return { keyspace: identAt(i), table: identAt(i + 2), next: i + 3 };
  }
  return { table: identAt(i), next: i + 1 };
}

function systemTableOf(table: string): SystemTableName | undefined {
  if (table === 'local' || table === 'peers' || table === 'peers_v2') return table;
  return undefined;
}

/** A statement of `kind` on `ks.table` with no bind markers, no now() call, no IF: the scan fills in the rest. */
function statement(kind: StatementInfo['kind'], qn?: { keyspace?: string; table?: string }): StatementInfo {
  return {
    kind,
    ...(qn ? { keyspace: qn.keyspace, table: qn.table } : {}),
    bindMarkers: EMPTY_MARKERS,
    positionalMarkerCount: 0,
    hasNamedMarkers: false,
    nowCalls: EMPTY_NOW,
    functionCalls: EMPTY_CALLS,
    isLwt: false,
  };
}

function other(): StatementInfo {
  return statement('other');
}

// Term scanner: bind markers, now() sites, LWT ---------------------------------------------------

/** Keywords after which `(` opens a tuple/group, not function arguments. */
function isGroupingKeyword(i: number): boolean {
  const len = E[i] - S[i];
  if (len === 2) return isWord(i, 'in') || isWord(i, 'if') || isWord(i, 'or');
  if (len === 3) return isWord(i, 'and') || isWord(i, 'set') || isWord(i, 'not') || isWord(i, 'key');
  if (len === 5) return isWord(i, 'where') || isWord(i, 'using');
  if (len === 6) return isWord(i, 'values');
  if (len === 8) return isWord(i, 'contains');
  return false;
}

/** If a zero-argument `now()` / `system.now()` call starts at token i, returns its last token index, else -1. */
function nowCallEnd(i: number): number {
  if (i > 0 && isPunct(i - 1, DOT)) return -1; // `ks.now()` with ks != system
  let j = i;
  if (identIs(j, 'system') && isPunct(j + 1, DOT)) j += 2;
  if (!identIs(j, 'now')) return -1;
  if (isPunct(j + 1, OPEN_PAREN) && isPunct(j + 2, CLOSE_PAREN)) return j + 2;
  return -1;
}

/** If a zero-argument pinned-function call (`[system.]fn()`) starts at token i: its function and last token. */
function functionCallAt(i: number): { fn: PinnedFunction; last: number } | undefined {
  if (i > 0 && isPunct(i - 1, DOT)) return undefined;
  let j = i;
  if (identIs(j, 'system') && isPunct(j + 1, DOT)) j += 2;
  if (!isIdent(j) || !isPunct(j + 1, OPEN_PAREN) || !isPunct(j + 2, CLOSE_PAREN)) return undefined;
  for (const fn of PINNED_FUNCTIONS) if (identIs(j, fn)) return { fn, last: j + 2 };
  return undefined;
}

class Scan {
  markers: BindMarker[] | undefined;
  nows: NowCallSite[] | undefined;
  calls: FunctionCallSite[] | undefined;
  positional = 0;
  named = false;
  lwt = false;

  /** Records bind markers in tokens [from, to); with `detectNow`, also now() sites and IF at depth 0. */
  run(from: number, to: number, detectNow: boolean, statementIndex: number): void {
    let depth = 0;
    let opaque = 0;
    let collections = 0;
    for (let i = from; i < to; i++) {
      const k = K[i];
      if (k === T.QMARK) {
        (this.markers ??= []).push({ kind: 'positional', start: S[i], end: E[i], index: this.positional++ });
      } else if (k === T.NAMED) {
        this.named = true;
        (this.markers ??= []).push({
          kind: 'named',
          start: S[i],
          end: E[i],
          index: -1,
          name: identifierValue(SRC, K[i], S[i] + 1, E[i]),
        });
      } else if (k === T.PUNCT) {
        const c = SRC.charCodeAt(S[i]);
        let ctx = -1;
        if (c === OPEN_PAREN) {
          ctx = i > from && isIdent(i - 1) && !isGroupingKeyword(i - 1) ? CTX_CALL : CTX_GROUP;
        } else if (c === OPEN_BRACKET) {
          ctx = i > from && (isIdent(i - 1) || isPunct(i - 1, CLOSE_BRACKET)) ? CTX_SUBSCRIPT : CTX_COLLECTION;
        } else if (c === OPEN_BRACE) {
          ctx = isIdent(i + 1) && (isPunct(i + 2, COLON) || K[i + 2] === T.NAMED) ? CTX_UDT : CTX_COLLECTION;
        } else if (c === CLOSE_PAREN || c === CLOSE_BRACKET || c === CLOSE_BRACE) {
          if (depth > 0) {
            depth--;
            const top = ctxStack[depth];
            if (top === CTX_CALL || top === CTX_COLLECTION || top === CTX_UDT) opaque--;
            if (top === CTX_COLLECTION) collections--;
          }
        }
        if (ctx >= 0) {
          if (depth === ctxStack.length) {
            const bigger = new Uint8Array(ctxStack.length * 2);
            bigger.set(ctxStack);
            ctxStack = bigger;
          }
          ctxStack[depth++] = ctx;
          if (ctx === CTX_CALL || ctx === CTX_COLLECTION || ctx === CTX_UDT) opaque++;
          if (ctx === CTX_COLLECTION) collections++;
        }
      } else if (detectNow && (k === T.IDENT || k === T.QIDENT)) {
        if (depth === 0 && k === T.IDENT && isWord(i, 'if')) this.lwt = true;
        const call = functionCallAt(i);
        if (call && call.last < to) {
          const calls = (this.calls ??= []);
          const wholeTerm = opaque === 0;
          calls.push({
            start: S[i],
            end: E[call.last],
            statementIndex,
            previousPositionalIndex: this.positional - 1,
            generatedPositionalIndex: this.positional + calls.length,
            fn: call.fn,
            wholeTerm,
            inCollection: collections > 0,
          });
          if (wholeTerm && nowCallEnd(i) === call.last) {
            const nows = (this.nows ??= []);
            nows.push({
              start: S[i],
              end: E[call.last],
              statementIndex,
              previousPositionalIndex: this.positional - 1,
              generatedPositionalIndex: this.positional + nows.length,
            });
          }
          i = call.last;
        }
      }
    }
  }

  fill(info: StatementInfo): StatementInfo {
    if (this.markers) info.bindMarkers = this.markers;
    if (this.nows) info.nowCalls = this.nows;
    if (this.calls) info.functionCalls = this.calls;
    info.positionalMarkerCount = this.positional;
    info.hasNamedMarkers = this.named;
    info.isLwt = this.lwt;
    return info;
  }
}

// Statements ------------------------------------------------------------------------------------

function parseSelect(end: number): StatementInfo {
  let i = 1;
  let json = false;
  let distinct = false;
  const modifierFollows = (j: number) => !(isWord(j + 1, 'from') || isPunct(j + 1, COMMA) || isWord(j + 1, 'as'));
  if (isWord(i, 'json') && modifierFollows(i)) {
    json = true;
    i++;
  }
  if (isWord(i, 'distinct') && modifierFollows(i)) {
    distinct = true;
    i++;
  }
  const clauseStart = i;
  let depth = 0;
  let from = -1;
  for (; i < end; i++) {
    const d = bracketDelta(i);
    if (d !== 0) {
      depth += d;
      if (depth < 0) return other();
    } else if (depth === 0 && isWord(i, 'from')) {
      from = i;
      break;
    }
  }
  if (from <= clauseStart) return other();
  const qn = parseQualifiedName(from + 1);
  if (!qn || qn.next > end) return other();
  const info = statement('select', qn);
  if (json) info.selectJson = true;
  if (distinct) info.selectDistinct = true;
  const sys = systemTableOf(qn.table);
  if (sys) {
    info.systemTable = sys;
    info.projection = parseProjection(clauseStart, from);
  }
  const scan = new Scan();
  scan.run(1, end, false, 0);
  return scan.fill(info);
}

function parseProjection(from: number, to: number): '*' | Selector[] {
  if (to - from === 1 && isPunct(from, STAR)) return '*';
  const out: Selector[] = [];
  let segStart = from;
  let depth = 0;
  for (let i = from; i <= to; i++) {
    if (i < to) {
      const d = bracketDelta(i);
      if (d !== 0) {
        depth += d;
        continue;
      }
      if (!(depth === 0 && isPunct(i, COMMA))) continue;
    }
    out.push(parseSelector(segStart, i));
    segStart = i + 1;
  }
  return out;
}

function parseSelector(a: number, b: number): Selector {
  let alias: string | undefined;
  if (b - a >= 3 && isWord(b - 2, 'as') && isIdent(b - 1)) {
    alias = identAt(b - 1);
    b -= 2;
  }
  const withAlias = <X extends Selector>(s: X): X => {
    if (alias !== undefined) s.alias = alias;
    return s;
  };
  const text = b > a ? SRC.slice(S[a], E[b - 1]) : '';
  if (b - a === 1 && isIdent(a)) return withAlias({ kind: 'column', name: identAt(a) });
  if (
    b - a === 4 &&
    isWord(a, 'count') &&
    isPunct(a + 1, OPEN_PAREN) &&
    isPunct(a + 3, CLOSE_PAREN) &&
    (isPunct(a + 2, STAR) || (K[a + 2] === T.NUMBER && E[a + 2] - S[a + 2] === 1 && SRC.charCodeAt(S[a + 2]) === 49))
  ) {
    return withAlias({
      kind: 'count',
      name: SRC.slice(S[a], E[a]),
      arg: isPunct(a + 2, STAR) ? '*' : '1',
    });
  }
  // [ks .] name ( ... ) with the closing paren last
  let p = a;
  let fname: string | undefined;
  if (isIdent(p) && isPunct(p + 1, DOT) && isIdent(p + 2)) {
    fname = `${identAt(p)}.${identAt(p + 2)}`;
    p += 3;
  } else if (isIdent(p)) {
    fname = identAt(p);
    p += 1;
  }
  if (fname !== undefined && isPunct(p, OPEN_PAREN) && isPunct(b - 1, CLOSE_PAREN)) {
    let depth = 0;
    let closesAtEnd = true;
    for (let i = p; i < b; i++) {
      depth += bracketDelta(i);
      if (depth === 0 && i < b - 1) {
        closesAtEnd = false;
        break;
      }
    }
    if (closesAtEnd) return withAlias({ kind: 'function', name: fname, text });
  }
  return withAlias({ kind: 'other', text });
}

type WriteKind = 'insert' | 'update' | 'delete';

function writeKindAt(i: number): WriteKind | undefined {
  if (isWord(i, 'insert')) return 'insert';
  if (isWord(i, 'update')) return 'update';
  if (isWord(i, 'delete')) return 'delete';
  return undefined;
}

/** Table of an INSERT/UPDATE/DELETE starting at token i, or undefined when malformed / INSERT JSON. */
function writeTarget(kind: WriteKind, i: number, end: number): QName | undefined {
  if (kind === 'insert') {
    if (!isWord(i + 1, 'into')) return undefined;
    const qn = parseQualifiedName(i + 2);
    if (!qn || qn.next > end) return undefined;
    if (isWord(qn.next, 'json')) return undefined; // upstream: INSERT ... JSON is "other"
    if (!isPunct(qn.next, OPEN_PAREN)) return undefined;
    return qn;
  }
  if (kind === 'update') {
    const qn = parseQualifiedName(i + 1);
    return qn && qn.next <= end ? qn : undefined;
  }
  // DELETE [selectors] FROM name
  let depth = 0;
  for (let j = i + 1; j < end; j++) {
    const d = bracketDelta(j);
    if (d !== 0) depth += d;
    else if (depth === 0 && isWord(j, 'from')) {
      const qn = parseQualifiedName(j + 1);
      return qn && qn.next <= end ? qn : undefined;
    }
  }
  return undefined;
}

function parseWrite(kind: WriteKind, end: number): StatementInfo {
  const qn = writeTarget(kind, 0, end);
  if (!qn) return other();
  const scan = new Scan();
  scan.run(1, end, true, 0);
  return scan.fill(statement(kind, qn));
}

/** Index of the token ending a batch child that starts at i: `;` or next child keyword / APPLY at depth 0. */
function batchChildEnd(i: number): number {
  let depth = 0;
  for (let j = i + 1; j < N; j++) {
    const d = bracketDelta(j);
    if (d !== 0) {
      depth += d;
      if (depth < 0) depth = 0;
    } else if (depth === 0 && (isPunct(j, SEMI) || isWord(j, 'apply') || writeKindAt(j) !== undefined)) {
      return j;
    }
  }
  return N;
}

function parseBatch(): StatementInfo {
  let i = 1;
  if (isWord(i, 'unlogged') || isWord(i, 'logged') || isWord(i, 'counter')) i++;
  if (!isWord(i, 'batch')) return other();
  i++;
  const scan = new Scan();
  // optional `USING TIMESTAMP ...` of the batch itself: markers there count for the positional index
  const headerStart = i;
  if (!isWord(i, 'using') && writeKindAt(i) === undefined && !isWord(i, 'apply')) return other();
  while (i < N && writeKindAt(i) === undefined && !isWord(i, 'apply')) {
    if (isPunct(i, SEMI)) return other();
    i++;
  }
  scan.run(headerStart, i, false, 0);
  const children: BatchChildInfo[] = [];
  for (;;) {
    while (isPunct(i, SEMI)) i++;
    if (i >= N) return other(); // no APPLY BATCH
    if (isWord(i, 'apply')) {
      if (!isWord(i + 1, 'batch')) return other();
      break;
    }
    const wk = writeKindAt(i);
    if (!wk) return other();
    const end = batchChildEnd(i);
    const qn = writeTarget(wk, i, end);
    if (!qn) return other();
    scan.run(i + 1, end, true, children.length);
    children.push({ kind: wk, keyspace: qn.keyspace, table: qn.table, start: S[i], end: E[end - 1] });
    i = end;
  }
  const last = children[children.length - 1];
  return scan.fill({
    ...statement('batch', { keyspace: last?.keyspace, table: last?.table }),
    batchChildren: children,
  });
}

const DDL_WORDS = ['create', 'alter', 'drop', 'truncate', 'grant', 'revoke', 'list', 'comment'];

/**
 * Inspects one CQL statement text. Never throws.
 * Keyspace-less table names are returned without a keyspace: resolve them against the session
 * keyspace with `routing.ts` (`USE system; SELECT * FROM local` is the virtual table).
 */
export function inspect(cql: string): StatementInfo {
  try {
    return inspectUnsafe(cql);
  } catch {
    // Defensive only: the parser is written not to throw. Unknown -> "other" -> both clusters.
    return other();
  }
}

function inspectUnsafe(cql: string): StatementInfo {
  if (!lex(cql) || N === 0) return other();
  const info = classify();
  if (info.kind === 'other') {
    for (let i = 0; i < N; i++) {
      const call = (K[i] === T.IDENT || K[i] === T.QIDENT) && functionCallAt(i);
      if (call) return { ...info, unpinnedCall: call.fn };
    }
  }
  return info;
}

function classify(): StatementInfo {
  if (K[0] !== T.IDENT) return other(); // includes a leading `;` (a syntax error for Cassandra too)
  const end = statementEnd(0);
  const len = E[0] - S[0];
  if (len === 6 && isWord(0, 'select')) return parseSelect(end);
  const wk = writeKindAt(0);
  if (wk) return parseWrite(wk, end);
  if (isWord(0, 'begin')) return parseBatch();
  if (isWord(0, 'use')) {
    if (!isIdent(1) || 2 > end) return other();
    return { ...statement('use'), keyspace: identAt(1) };
  }
  if (isWord(0, 'call')) {
    if (!isIdent(1) || 2 > end) return other();
    const scan = new Scan();
    scan.run(1, end, false, 0);
    return scan.fill({ ...statement('call'), callRpcName: identAt(1) });
  }
  for (const w of DDL_WORDS) {
    if (isWord(0, w)) return statement('ddl');
  }
  return other();
}

/** Upstream's statement type (`queryinspector.go`): `ddl` is "other" there. */
export function upstreamStatementType(info: StatementInfo): Exclude<StatementKind, 'ddl'> {
  return info.kind === 'ddl' ? 'other' : info.kind;
}
