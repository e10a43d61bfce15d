/**
 * `now()` replacement on request / response frames (`replace_cql_functions=true`, upstream-spec-notes 4.6;
 * upstream `querymodifier.go`, `parametermodifier.go`, `clienthandler.go` `replaceTermsOnPreparedBody`).
 *
 * Pure functions: frame in, frame(s) out, no I/O. Called only when the setting is on and the
 * inspector found `now()` call sites (`needsNowReplacement`), or for EXECUTE/BATCH of a prepared
 * statement whose cache entry carries a `PreparedNowState`.
 *
 *  - QUERY: every whole-term `now()` -> a fresh timeuuid literal; ONE frame, sent to both clusters.
 *  - PREPARE: every `now()` -> `?` (or `:zdm__now` when the statement uses named markers); the
 *    generated variables' positions are returned (`NowPrepareReplacement`) for the prepared cache.
 *  - PREPARED reply: the generated variables are removed from the variables metadata the client
 *    sees, partition-key indices renumbered (fixes upstream's "last variable is not hidden" bug).
 *  - EXECUTE: one new timeuuid per generated variable, inserted at its position (positional values,
 *    also for statements with named markers: the metadata order is the text order), or one
 *    `zdm__now` named value; the SAME values go to ORIGIN and TARGET, TARGET's copy carries its id.
 *  - BATCH: text children as QUERY (a new value per call site), prepared children as EXECUTE.
 *
 * Deliberate differences from upstream (which only logs the error and never answers):
 *  - generated variables are located by position, for both marker styles (upstream: by name for
 *    named markers, and misses a positional generated variable that is the last one);
 *  - pk indices after a hidden variable are shifted down (upstream keeps the old numbers); when a
 *    partition key column itself is generated the client gets no pk indices at all (it cannot
 *    compute the routing key; upstream sends a partial list);
 *  - named values for a statement with `?` markers: the generated values are added under the
 *    variables' own (column) names, which is how Cassandra binds named values to `?` markers
 *    (upstream fails the request);
 *  - a value count that does not match the statement, or a generated variable whose type is not
 *    uuid/timeuuid (e.g. `now()` written for a text column: Cassandra would reject the original
 *    statement), throws `NowReplacementError`: the caller answers the client with an ERROR.
 */
import {
  type Batch,
  type BodyCodec,
  type BatchChild,
  type ColumnSpec,
  type DataType,
  DataTypeCode,
  dataTypeName,
  DataTypes,
  decodeFrameWith,
  encodeFrameLike,
  encodeValue,
  type Execute,
  type Frame,
  type NamedValue,
  newTimeUuid,
  Opcode,
  opcodeName,
  type Prepare,
  type PreparedMetadata,
  type PreparedResult,
  ProtocolVersion,
  type Query,
  type RawFrame,
  ResultKind,
  uuidFromString,
  uuidToString,
  type Value,
} from '../protocol/codec';
import { randomUUID } from 'node:crypto';
import { inspect, type FunctionCallSite, type PinnedFunction, type StatementInfo } from '../cql/inspector';
import { PINNED_FUNCTION_TYPES, isPlainSite, namedMarkerFor, replaceNowCalls } from '../cql/rewrite';

// ---- types -----------------------------------------------------------------------------------

export interface NowRewriteOptions {
  /** The connection's body compression: needed only for frames carrying the COMPRESSION flag (v2-v4, DSE); the output is compressed again. */
  compressor?: BodyCodec;
  /** Source of the generated timeuuids (16 bytes each); default `newTimeUuid` (tests inject fixed values). */
  generate?: () => Buffer;
  /** Wall clock (ms) of currentTimestamp()/currentDate()/currentTime(); default Date.now. */
  clockMs?: () => number;
}

/** What a PREPARE rewrite did; stored with the prepared statement (cache entry). */
export interface NowPrepareReplacement {
  /** Marker written for each `now()`: `?`, or `:zdm__now` when the statement uses named markers. */
  markers: 'positional' | 'named';
  /**
   * Index of each generated variable among ALL variables of the rewritten statement (the clusters'
   * PREPARED variables metadata), ascending, one per `now()` call site.
   */
  generatedIndices: readonly number[];
  /** The function of each generated variable (same order); absent = all `now()`. */
  functions?: readonly PinnedFunction[];
}

/** Everything EXECUTE / BATCH need: the prepared cache entry keeps this (absent when nothing was replaced). */
export interface PreparedNowState {
  replacement: NowPrepareReplacement;
  /** ORIGIN's variables metadata as ORIGIN returned it (generated variables included). */
  originVariables: PreparedMetadata;
  /** TARGET's variables metadata as TARGET returned it (generated variables included). */
  targetVariables: PreparedMetadata;
}

/** A frame for each cluster. Distinct objects (never the same RawFrame), safe to send concurrently. */
export interface NowFramePair {
  origin: RawFrame;
  target: RawFrame;
  /** The generated timeuuids that were sent, in the order they were made (for logs and tests). */
  generated: Buffer[];
}

/** A request the replacement cannot be applied to; the caller answers ERROR (Invalid) with the message. */
export class NowReplacementError extends Error {
  override readonly name = 'NowReplacementError';
}

// ---- decisions -------------------------------------------------------------------------------

/** True when the statement has pinned-function call sites to replace (INSERT/UPDATE/DELETE/text BATCH only). */
export function needsNowReplacement(info: StatementInfo): boolean {
  return info.functionCalls.length > 0;
}

// ---- generated values ----------------------------------------------------------------------------

/** One generated value of a pinned function: the bytes of its CQL type and the CQL literal. */
export interface GeneratedValue {
  bytes: Buffer;
  literal: string;
}

const MS_PER_DAY = 86_400_000;
const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** A new value of `fn`, made the way Cassandra's function makes it (timeuuid v1, random v4 uuid, wall clock). */
export function generateValue(fn: PinnedFunction, opts: Pick<NowRewriteOptions, 'generate' | 'clockMs'> = {}): GeneratedValue {
  switch (fn) {
    case 'now':
    case 'currenttimeuuid': {
      const bytes = (opts.generate ?? newTimeUuid)();
      return { bytes, literal: uuidToString(bytes) };
    }
    case 'uuid': {
      const literal = randomUUID();
      return { bytes: uuidFromString(literal), literal };
    }
    default: {
      const ms = (opts.clockMs ?? Date.now)();
      if (fn === 'currenttimestamp')
        return { bytes: encodeValue(DataTypes.timestamp, ms, ProtocolVersion.V4)!, literal: String(ms) };
      const days = Math.floor(ms / MS_PER_DAY);
      if (fn === 'currentdate') {
        return {
          bytes: encodeValue(DataTypes.date, days, ProtocolVersion.V4)!,
          literal: `'${new Date(days * MS_PER_DAY).toISOString().slice(0, 10)}'`,
        };
      }
      const inDay = ms - days * MS_PER_DAY;
      const t = new Date(ms);
      const literal = `'${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}.${pad(t.getUTCMilliseconds(), 3)}000000'`;
      return { bytes: encodeValue(DataTypes.time, BigInt(inDay) * 1_000_000n, ProtocolVersion.V4)!, literal };
    }
  }
}

/**
 * Index, among all bind variables of the text after every `now()` became a marker, of each
 * generated marker. Cassandra numbers variables in text order (named ones too, one per occurrence).
 */
export function generatedVariableIndices(info: StatementInfo): number[] {
  const markers = info.bindMarkers;
  const out: number[] = new Array(info.functionCalls.length);
  let m = 0;
  for (let k = 0; k < info.functionCalls.length; k++) {
    const start = info.functionCalls[k]!.start;
    while (m < markers.length && markers[m]!.start < start) m++;
    out[k] = m + k;
  }
  return out;
}

// ---- frame plumbing ----------------------------------------------------------------------------

function decodePlain(raw: RawFrame, opts: NowRewriteOptions): Frame {
  if (raw.isCompressed && raw.version !== ProtocolVersion.V5 && !opts.compressor) {
    throw new NowReplacementError(`frame on stream ${raw.streamId} is compressed but no compression was given`);
  }
  return decodeFrameWith(raw, opts.compressor);
}

/** Encode `frame`, compressed again when `like` was. */
function encodeLike(frame: Frame, like: RawFrame, opts: NowRewriteOptions): RawFrame {
  return encodeFrameLike(frame, like, opts.compressor);
}

function expectOpcode(raw: RawFrame, opcode: Opcode, what: string): void {
  if (raw.opcode !== opcode || raw.isResponse) {
    throw new NowReplacementError(`${what} expects a ${opcodeName(opcode)} request, got ${opcodeName(raw.opcode)}`);
  }
}

function checkSites(query: string, info: StatementInfo): void {
  for (const s of info.functionCalls) {
    if (s.end > query.length || query.charCodeAt(s.end - 1) !== 0x29 /* ) */) {
      throw new NowReplacementError('statement info does not belong to this query text (function call site out of place)');
    }
  }
}

function literalReplacer(
  opts: NowRewriteOptions,
  generated: Buffer[],
): { kind: 'literal'; next: (site: FunctionCallSite) => string } {
  return {
    kind: 'literal',
    next: (site) => {
      const v = generateValue(site.fn, opts);
      generated.push(v.bytes);
      return isPlainSite(site) ? v.literal : `(${PINNED_FUNCTION_TYPES[site.fn]})${v.literal}`;
    },
  };
}

// ---- QUERY -----------------------------------------------------------------------------------

/**
 * QUERY: every `now()` of `info` (inspected from this frame's text) -> a new timeuuid literal.
 * The one returned frame goes to BOTH clusters (same bytes: copy it per connection as usual).
 * undefined when there is nothing to replace (send the client's frame).
 */
export function rewriteQueryFrame(raw: RawFrame, info: StatementInfo, opts: NowRewriteOptions = {}): RawFrame | undefined {
  if (info.functionCalls.length === 0) return undefined;
  expectOpcode(raw, Opcode.QUERY, 'rewriteQueryFrame');
  const frame = decodePlain(raw, opts) as Frame<Query>;
  checkSites(frame.message.query, info);
  const generated: Buffer[] = [];
  const { query } = replaceNowCalls(frame.message.query, info, literalReplacer(opts, generated));
  return encodeLike({ ...frame, message: { ...frame.message, query } }, raw, opts);
}

// ---- PREPARE ---------------------------------------------------------------------------------

/**
 * PREPARE: every `now()` -> `?`, or `:zdm__now` when the statement uses named markers. The frame
 * goes to both clusters; `replacement` is kept until both PREPARED replies arrive and then stored
 * in the prepared cache entry (`PreparedNowState`). undefined when there is nothing to replace.
 */
export function rewritePrepareFrame(
  raw: RawFrame,
  info: StatementInfo,
  opts: NowRewriteOptions = {},
): { frame: RawFrame; replacement: NowPrepareReplacement } | undefined {
  if (info.functionCalls.length === 0) return undefined;
  expectOpcode(raw, Opcode.PREPARE, 'rewritePrepareFrame');
  const inCollection = info.functionCalls.find((c) => c.inCollection);
  if (inCollection) {
    throw new NowReplacementError(
      `replace_cql_functions: ${inCollection.fn}() inside a list, set or map literal cannot be pinned in a prepared statement ` +
        '(Cassandra allows no bind marker there, and each cluster would compute its own value); bind the whole collection, or send the statement unprepared',
    );
  }
  const frame = decodePlain(raw, opts) as Frame<Prepare>;
  checkSites(frame.message.query, info);
  const markers = info.hasNamedMarkers ? 'named' : 'positional';
  const { query } = replaceNowCalls(frame.message.query, info, { kind: markers });
  return {
    frame: encodeLike({ ...frame, message: { ...frame.message, query } }, raw, opts),
    replacement: { markers, generatedIndices: generatedVariableIndices(info), functions: info.functionCalls.map((c) => c.fn) },
  };
}

// ---- PREPARED reply --------------------------------------------------------------------------

function checkGenerated(variables: PreparedMetadata, r: NowPrepareReplacement, cluster: string): void {
  const n = variables.columns.length;
  r.generatedIndices.forEach((i, k) => {
    if (i >= n) {
      throw new NowReplacementError(
        `${cluster} PREPARED result has ${n} bind variable(s), expected a generated ${functionOf(r, k)}() variable at index ${i}`,
      );
    }
    const name = namedMarkerFor(functionOf(r, k));
    if (r.markers === 'named' && variables.columns[i]!.name !== name) {
      throw new NowReplacementError(
        `${cluster} PREPARED result names bind variable ${i} '${variables.columns[i]!.name}', expected '${name}'`,
      );
    }
  });
}

/**
 * The variables metadata the client must see: generated variables removed (the last one too),
 * pk indices renumbered; no pk indices when a partition key column is itself generated.
 */
export function hideGeneratedVariables(variables: PreparedMetadata, replacement: NowPrepareReplacement): PreparedMetadata {
  checkGenerated(variables, replacement, 'the');
  const gen = replacement.generatedIndices;
  const hidden = new Set(gen);
  const columns = variables.columns.filter((_, i) => !hidden.has(i));
  let pkIndices: number[] = [];
  if (!variables.pkIndices.some((p) => hidden.has(p))) {
    pkIndices = variables.pkIndices.map((p) => {
      let below = 0;
      for (const g of gen) if (g < p) below++;
      return p - below;
    });
  }
  return { pkIndices, columns };
}

function decodePrepared(raw: RawFrame, opts: NowRewriteOptions): Frame<PreparedResult> | undefined {
  if (raw.opcode !== Opcode.RESULT || !raw.isResponse) return undefined;
  const frame = decodePlain(raw, opts);
  const msg = frame.message;
  if (msg.opcode !== Opcode.RESULT || msg.kind !== ResultKind.PREPARED) return undefined;
  return frame as Frame<PreparedResult>;
}

/** The variables metadata of a PREPARED reply (for TARGET's reply); undefined for any other frame. */
export function preparedVariables(raw: RawFrame, opts: NowRewriteOptions = {}): PreparedMetadata | undefined {
  return decodePrepared(raw, opts)?.message.variables;
}

/**
 * ORIGIN's PREPARED reply -> the reply for the client, without the generated variables.
 * `variables` is ORIGIN's full metadata, for `PreparedNowState.originVariables`.
 * undefined when `raw` is not a RESULT PREPARED (an ERROR goes to the client unchanged).
 */
export function hidePreparedReply(
  raw: RawFrame,
  replacement: NowPrepareReplacement,
  opts: NowRewriteOptions = {},
): { frame: RawFrame; variables: PreparedMetadata } | undefined {
  const frame = decodePrepared(raw, opts);
  if (!frame) return undefined;
  const variables = frame.message.variables;
  checkGenerated(variables, replacement, 'ORIGIN');
  const message: PreparedResult = { ...frame.message, variables: hideGeneratedVariables(variables, replacement) };
  return { frame: encodeLike({ ...frame, message }, raw, opts), variables };
}

/**
 * Both PREPARED replies of a PREPARE rewritten by `rewritePrepareFrame` -> the reply for the client
 * (ORIGIN's, generated variables hidden) and the state to store in the prepared cache entry.
 * undefined when either reply is not a RESULT PREPARED (the usual error path applies, nothing cached).
 * Throws NowReplacementError when a reply's variables do not match the rewritten text.
 */
export function completePrepare(
  originReply: RawFrame,
  targetReply: RawFrame,
  replacement: NowPrepareReplacement,
  opts: NowRewriteOptions = {},
): { clientFrame: RawFrame; state: PreparedNowState } | undefined {
  const targetVariables = preparedVariables(targetReply, opts);
  if (!targetVariables) return undefined;
  checkGenerated(targetVariables, replacement, 'TARGET');
  const origin = hidePreparedReply(originReply, replacement, opts);
  if (!origin) return undefined;
  return { clientFrame: origin.frame, state: { replacement, originVariables: origin.variables, targetVariables } };
}

// ---- EXECUTE / BATCH values ------------------------------------------------------------------

function functionOf(r: NowPrepareReplacement, k: number): PinnedFunction {
  return r.functions?.[k] ?? 'now';
}

const CUSTOM_CLASS: Partial<Record<number, RegExp>> = {
  [DataTypeCode.UUID]: /(^|\.)UUIDType$/,
  [DataTypeCode.TIMEUUID]: /(^|\.)TimeUUIDType$/,
  [DataTypeCode.TIMESTAMP]: /(^|\.)TimestampType$/,
  [DataTypeCode.DATE]: /(^|\.)SimpleDateType$/,
  [DataTypeCode.TIME]: /(^|\.)TimeType$/,
};
function isType(t: DataType, code: number): boolean {
  if (t.code === code) return true;
  return t.code === DataTypeCode.CUSTOM && (CUSTOM_CLASS[code]?.test(t.className) ?? false);
}
/** Variable types a generated value of `fn` may be bound to (a whole-term now() also fits uuid). */
function fits(fn: PinnedFunction, t: DataType): boolean {
  switch (fn) {
    case 'now':
    case 'currenttimeuuid':
    case 'uuid':
      return isType(t, DataTypeCode.UUID) || isType(t, DataTypeCode.TIMEUUID);
    case 'currenttimestamp':
      return isType(t, DataTypeCode.TIMESTAMP);
    case 'currentdate':
      return isType(t, DataTypeCode.DATE);
    case 'currenttime':
      return isType(t, DataTypeCode.TIME);
  }
}

/** The generated value for a variable, checked against the variable's type (the type hint makes them equal). */
function encodeGenerated(value: Buffer, fn: PinnedFunction, col: ColumnSpec, index: number): Buffer {
  if (!fits(fn, col.type)) {
    throw new NowReplacementError(
      `${fn}() is bound to variable ${index} (${col.name}) of type ${dataTypeName(col.type)}; a generated ${PINNED_FUNCTION_TYPES[fn]} does not fit there`,
    );
  }
  return Buffer.from(value);
}

/**
 * Positional values with the generated ones inserted at their positions. Works for `?` and for
 * named markers alike (a client may send positional values for named markers: metadata order).
 */
function mergePositional(
  clientValues: readonly Value[],
  variables: PreparedMetadata,
  r: NowPrepareReplacement,
  uuid: (k: number) => Buffer,
  what: string,
): Value[] {
  const gen = r.generatedIndices;
  const total = variables.columns.length;
  const expected = total - gen.length;
  if (clientValues.length !== expected) {
    throw new NowReplacementError(
      `${what} carries ${clientValues.length} value(s) but the prepared statement has ${expected} bind variable(s)`,
    );
  }
  const out: Value[] = new Array(total);
  let g = 0;
  let c = 0;
  for (let i = 0; i < total; i++) {
    if (g < gen.length && gen[g] === i) {
      out[i] = encodeGenerated(uuid(g), functionOf(r, g), variables.columns[i]!, i);
      g++;
    } else {
      out[i] = clientValues[c++]!;
    }
  }
  return out;
}

/**
 * Named values plus the generated ones, under the generated variables' names (`zdm__now` for named
 * markers: one value shared by every occurrence, as a named value binds all of them).
 */
function mergeNamed(
  clientValues: readonly NamedValue[],
  variables: PreparedMetadata,
  r: NowPrepareReplacement,
  uuid: (k: number) => Buffer,
): NamedValue[] {
  const out = clientValues.slice();
  const names = new Set(clientValues.map((v) => v.name));
  r.generatedIndices.forEach((idx, k) => {
    const col = variables.columns[idx]!;
    if (names.has(col.name)) {
      if (r.markers === 'named') return; // the application's own zdm__now value is kept (upstream)
      throw new NowReplacementError(
        `EXECUTE names a value '${col.name}' that also binds a replaced now() (variable ${idx}); send positional values instead`,
      );
    }
    names.add(col.name);
    out.push({ name: col.name, value: encodeGenerated(uuid(k), functionOf(r, k), col, idx) });
  });
  return out;
}

/**
 * The value of each generated variable k of a statement, made on first use and then shared by the
 * ORIGIN and TARGET copies (a named `zdm__now` value uses only the first one).
 */
function lazyValues(r: NowPrepareReplacement, opts: NowRewriteOptions, generated: Buffer[]): (k: number) => Buffer {
  const made: Buffer[] = [];
  return (k) => {
    let v = made[k];
    if (v === undefined) {
      v = generateValue(functionOf(r, k), opts).bytes;
      made[k] = v;
      generated.push(v);
    }
    return v;
  };
}

/**
 * EXECUTE of a statement prepared with replacements: one new timeuuid per generated variable
 * (one `zdm__now` for named values), inserted with the same values into ORIGIN's and TARGET's
 * copies. TARGET's copy carries `targetId` when given (the v5 result metadata id is left as is).
 */
export function addGeneratedValues(
  raw: RawFrame,
  state: PreparedNowState,
  opts: NowRewriteOptions & { targetId?: Buffer } = {},
): NowFramePair {
  expectOpcode(raw, Opcode.EXECUTE, 'addGeneratedValues');
  const frame = decodePlain(raw, opts) as Frame<Execute>;
  const msg = frame.message;
  const r = state.replacement;
  checkGenerated(state.originVariables, r, 'ORIGIN');
  checkGenerated(state.targetVariables, r, 'TARGET');
  const generated: Buffer[] = [];
  const uuid = lazyValues(r, opts, generated);
  const forCluster = (variables: PreparedMetadata, id: Buffer): Execute => {
    const params = { ...msg.params };
    if (params.namedValues !== undefined) {
      params.namedValues = mergeNamed(params.namedValues, variables, r, uuid);
    } else {
      params.values = mergePositional(params.values ?? [], variables, r, uuid, 'EXECUTE');
    }
    return { ...msg, id, params };
  };
  const origin = encodeLike({ ...frame, message: forCluster(state.originVariables, msg.id) }, raw, opts);
  const target = encodeLike({ ...frame, message: forCluster(state.targetVariables, opts.targetId ?? msg.id) }, raw, opts);
  return { origin, target, generated };
}

/** What `rewriteBatchFrame` needs to know about a prepared child (from the prepared cache). */
export interface BatchChildLookup {
  /** TARGET's id for the statement (TARGET's copy carries it); default: the same id. */
  targetId?: Buffer;
  /** Present when the statement was prepared with replaced `now()` calls. */
  now?: PreparedNowState;
}

/**
 * BATCH: text children with `now()` get literals (a new value per call site); prepared children
 * whose statement was prepared with replacements get generated values inserted (positional, per
 * child). ORIGIN and TARGET get the same values; TARGET's copy carries TARGET ids for every prepared
 * child `lookup` knows. undefined when nothing is replaced (then route the batch as usual).
 * `inspectChild` defaults to the statement inspector.
 */
export function rewriteBatchFrame(
  raw: RawFrame,
  lookup: (id: Buffer) => BatchChildLookup | undefined,
  opts: NowRewriteOptions & { inspectChild?: (cql: string) => StatementInfo } = {},
): NowFramePair | undefined {
  expectOpcode(raw, Opcode.BATCH, 'rewriteBatchFrame');
  const frame = decodePlain(raw, opts) as Frame<Batch>;
  const msg = frame.message;
  const inspectChild = opts.inspectChild ?? inspect;
  const generated: Buffer[] = [];
  const originChildren: BatchChild[] = new Array(msg.children.length);
  const targetChildren: BatchChild[] = new Array(msg.children.length);
  let changed = false;
  msg.children.forEach((child, i) => {
    if (child.kind === 'query') {
      const info = inspectChild(child.query);
      let c: BatchChild = child;
      if (info.functionCalls.length > 0) {
        checkSites(child.query, info);
        c = { ...child, query: replaceNowCalls(child.query, info, literalReplacer(opts, generated)).query };
        changed = true;
      }
      originChildren[i] = c;
      targetChildren[i] = c;
      return;
    }
    const found = lookup(child.id);
    const targetId = found?.targetId ?? child.id;
    const now = found?.now;
    if (!now || now.replacement.generatedIndices.length === 0) {
      originChildren[i] = child;
      targetChildren[i] = { ...child, id: targetId };
      return;
    }
    checkGenerated(now.originVariables, now.replacement, 'ORIGIN');
    checkGenerated(now.targetVariables, now.replacement, 'TARGET');
    const uuid = lazyValues(now.replacement, opts, generated);
    const what = `BATCH statement ${i}`;
    originChildren[i] = { ...child, values: mergePositional(child.values, now.originVariables, now.replacement, uuid, what) };
    targetChildren[i] = {
      ...child,
      id: targetId,
      values: mergePositional(child.values, now.targetVariables, now.replacement, uuid, what),
    };
    changed = true;
  });
  if (!changed) return undefined;
  const origin = encodeLike({ ...frame, message: { ...msg, children: originChildren } }, raw, opts);
  const target = encodeLike({ ...frame, message: { ...msg, children: targetChildren } }, raw, opts);
  return { origin, target, generated };
}
