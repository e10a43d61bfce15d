/**
 * In-process scriptable CQL server for tests (no real cluster needed), built on our codec.
 *
 *   const s = await FakeServer.start({ host: '127.0.0.1', maxVersion: ProtocolVersion.V4, auth: { username: 'u', password: 'p' } });
 *   s.endpoint                      // { host, port }
 *   s.received                      // every request: { connId, version, opcode, streamId, frame, decoded?, query? }
 *   s.onRequest((frame, decoded, conn) => reply | 'drop' | undefined)   // scripted replies, first non-undefined wins
 *   s.stall = true                  // never answer (requests are still recorded)
 *   s.delayMs = 200                 // answer late
 *   s.cutNextResponse()             // write half of the next response, then destroy that socket
 *   s.pushEvent(s.topologyChange('NEW_NODE', '127.0.0.5'))  // EVENT to every connection that sent REGISTER
 *   s.setLocal({...}); s.setPeers([...])     // system.local / system.peers rows (column name -> JS value)
 *   s.dropConnections(); await s.stop();
 *
 * Default behaviour: OPTIONS -> SUPPORTED; STARTUP -> READY, or AUTHENTICATE when `auth` is set (PasswordAuthenticator,
 * or DseAuthenticator with PLAIN / PLAIN-START); AUTH_RESPONSE checks the PLAIN token (AUTH_SUCCESS or AUTH_ERROR
 * "Provided username <u> and/or password are incorrect"); REGISTER -> READY; QUERY on system.local / system.peers ->
 * ROWS (peers paged by `peersPageSize`); other QUERY -> VOID (USE -> SET_KEYSPACE); PREPARE -> PREPARED with an id
 * derived from the query and `preparedIdSalt`; EXECUTE -> VOID, or UNPREPARED for an unknown id; BATCH -> VOID.
 * Errors on cue (see `errorReply` and the helpers below):
 *   s.onRequest(whenQuery(/INSERT/, errorReply.writeTimeout({ received: 1, blockFor: 2, writeType: 'SIMPLE' })))
 *   s.failNext((f, m) => m?.opcode === Opcode.EXECUTE, errorReply.overloaded())     // once, then normal again
 *   s.neverReply((f, m) => m?.opcode === Opcode.QUERY)                              // the reply never comes
 *   s.forgetPrepared()              // every prepared id unknown: EXECUTE/BATCH answer UNPREPARED (one side only
 *                                   // when only one of two fake clusters forgets)
 * Frames with a version above `maxVersion` get PROTOCOL_ERROR (like a real node). v5 connections switch to segment
 * framing after READY/AUTHENTICATE. A reply may be a RawFrame (stream id is set to the request's), `{ opcode, body }`,
 * or a Promise of either.
 */
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ErrorCode, Opcode, ProtocolVersion, ResultKind, versionName } from '../../src/protocol/constants';
import { FrameDecoder } from '../../src/protocol/decoder';
import { RawFrame } from '../../src/protocol/frame';
import { Writer } from '../../src/protocol/primitives';
import { decodeMessage, type Message } from '../../src/protocol/messages/index';
import type { EventMessage } from '../../src/protocol/messages/event';
import { getCompressor } from '../../src/protocol/compression';
import { SegmentFramer, V5FrameDecoder } from '../../src/protocol/segment';
import { buildPlainToken, parsePlainToken, DSE_AUTHENTICATOR, PASSWORD_AUTHENTICATOR } from '../../src/backend/authenticator';
import { encodeFrame } from '../../src/protocol/frame-codec';
import { skipEnvelope } from '../../src/protocol/envelope';
import {
  encodeMessage,
  overloadedError,
  readTimeoutError,
  rowsResult,
  serverError,
  simpleError,
  unavailableError,
  unpreparedError,
  writeTimeoutError,
  type ErrorMessage,
  type MessageOnlyErrorCode,
  type WriteType,
} from '../../src/protocol/messages/index';
import { Consistency } from '../../src/protocol/constants';
import { DataTypes, DataTypeCode, encodeValue, setOf, type DataType } from '../../src/protocol/values';

export type Row = Record<string, unknown>;

/** An ERROR reply for a scripted handler; its body is encoded for the request's version. */
export class ErrorReply {
  constructor(readonly error: ErrorMessage) {}
  body(version: ProtocolVersion): Buffer {
    return encodeMessage(this.error, version);
  }
}

/** ERROR replies as real nodes send them (fields included), for `onRequest` / `failNext` / `whenQuery`. */
export const errorReply = {
  writeTimeout(
    o: { consistency?: Consistency; received?: number; blockFor?: number; writeType?: WriteType; message?: string } = {},
  ): ErrorReply {
    return new ErrorReply(
      writeTimeoutError(
        o.consistency ?? Consistency.LOCAL_QUORUM,
        o.received ?? 1,
        o.blockFor ?? 2,
        o.writeType ?? 'SIMPLE',
        o.message ?? 'Operation timed out - received only 1 responses.',
      ),
    );
  },
  readTimeout(o: { consistency?: Consistency; received?: number; blockFor?: number; dataPresent?: boolean } = {}): ErrorReply {
    return new ErrorReply(
      readTimeoutError(
        o.consistency ?? Consistency.LOCAL_QUORUM,
        o.received ?? 1,
        o.blockFor ?? 2,
        o.dataPresent ?? false,
        'Operation timed out - received only 1 responses.',
      ),
    );
  },
  unavailable(o: { consistency?: Consistency; required?: number; alive?: number } = {}): ErrorReply {
    return new ErrorReply(
      unavailableError(
        o.consistency ?? Consistency.LOCAL_QUORUM,
        o.required ?? 2,
        o.alive ?? 1,
        'Cannot achieve consistency level',
      ),
    );
  },
  overloaded(message = 'Server is in overloaded state. Cannot accept more requests at this point'): ErrorReply {
    return new ErrorReply(overloadedError(message));
  },
  serverError(message = 'java.lang.RuntimeException: fake server error'): ErrorReply {
    return new ErrorReply(serverError(message));
  },
  unprepared(id: Buffer): ErrorReply {
    return new ErrorReply(unpreparedError(id));
  },
};
export type Reply = RawFrame | { opcode: Opcode; body: Buffer } | ErrorReply | 'drop' | undefined;
export type RequestPredicate = (frame: RawFrame, decoded: Message | undefined) => boolean;
export type RequestHandler = (frame: RawFrame, decoded: Message | undefined, conn: FakeConnection) => Reply | Promise<Reply>;

export interface ReceivedRequest {
  connId: number;
  version: ProtocolVersion;
  opcode: number;
  streamId: number;
  frame: RawFrame;
  decoded?: Message;
  /** QUERY / PREPARE text. */
  query?: string;
}

export interface FakeServerOptions {
  host?: string;
  port?: number;
  /** Highest protocol version accepted (raw number order: v2 < ... < v5 < DSE_V1 < DSE_V2). Default V4. */
  maxVersion?: ProtocolVersion;
  /** Lowest version accepted (default V3). */
  minVersion?: ProtocolVersion;
  auth?: { username: string; password: string; authenticator?: string };
  supported?: Record<string, string[]>;
  local?: Row;
  peers?: Row[];
  /** Rows per page of system.peers (default: all in one page). */
  peersPageSize?: number;
  preparedIdSalt?: string;
  /** Keep every request in `received` (default true; benchmarks turn it off so memory stays flat). */
  record?: boolean;
  /**
   * Benchmarks: called first for every request frame, synchronously; a frame returned is the reply (its stream id is
   * set to the request's; replies of one socket read go out in one write). undefined = the normal path.
   */
  fastReply?: (frame: RawFrame, conn: FakeConnection) => RawFrame | undefined;
}

/** Column types of the fake system tables (others are sent as text). */
export const SYSTEM_COLUMN_TYPES: Record<string, DataType> = {
  key: DataTypes.varchar,
  bootstrapped: DataTypes.varchar,
  broadcast_address: DataTypes.inet,
  cluster_name: DataTypes.varchar,
  cql_version: DataTypes.varchar,
  data_center: DataTypes.varchar,
  gossip_generation: DataTypes.int,
  host_id: DataTypes.uuid,
  listen_address: DataTypes.inet,
  native_protocol_version: DataTypes.varchar,
  partitioner: DataTypes.varchar,
  rack: DataTypes.varchar,
  release_version: DataTypes.varchar,
  rpc_address: DataTypes.inet,
  peer: DataTypes.inet,
  preferred_ip: DataTypes.inet,
  schema_version: DataTypes.uuid,
  tokens: setOf(DataTypes.varchar),
  native_transport_port: DataTypes.int,
  jmx_port: DataTypes.int,
  dse_version: DataTypes.varchar,
  graph: DataTypes.boolean,
  workloads: setOf(DataTypes.varchar),
};

function responseFrame(version: ProtocolVersion, opcode: Opcode, body: Uint8Array, streamId: number): RawFrame {
  return RawFrame.fromParts({ version, isResponse: true, flags: 0, streamId, opcode }, body);
}
function errorBody(code: MessageOnlyErrorCode, message: string): Buffer {
  return encodeMessage(simpleError(code, message), ProtocolVersion.V4);
}
/** A cell as the tests give it: a Buffer is sent as it is; text, int and boolean columns coerce other JS values. */
function cell(type: DataType, v: unknown, version: ProtocolVersion): Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  if (type.code === DataTypeCode.VARCHAR && typeof v !== 'string') return encodeValue(type, String(v), version);
  if (type.code === DataTypeCode.INT && typeof v !== 'number') return encodeValue(type, Number(v), version);
  if (type.code === DataTypeCode.BOOLEAN && typeof v !== 'boolean') return encodeValue(type, Boolean(v), version);
  return encodeValue(type, v, version);
}

export class FakeConnection {
  registered = false;
  version: ProtocolVersion | undefined;
  authenticated = false;
  private decoder: { push(b: Buffer): RawFrame[] } = new FrameDecoder({ expectResponses: false });
  private framer: SegmentFramer | undefined;
  private compression: string | undefined;
  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    private readonly server: FakeServer,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', () => socket.destroy());
  }

  private onData(b: Buffer): void {
    let frames: RawFrame[];
    try {
      frames = this.decoder.push(b);
    } catch {
      this.socket.destroy();
      return;
    }
    const fast = this.server.fastReply;
    let batch: RawFrame[] | undefined;
    for (const f of frames) {
      const r = fast && !this.server.stall ? fast(f, this) : undefined;
      if (r) {
        r.setStreamId(f.streamId);
        (batch ??= []).push(r);
      } else void this.server.handle(this, f);
    }
    if (batch) this.writeAll(batch);
  }

  /** Write several response frames with one socket write (benchmarks' fast path). */
  writeAll(frames: readonly RawFrame[]): void {
    if (this.socket.destroyed) return;
    if (this.framer) {
      const out: Buffer[] = [];
      for (const f of frames) out.push(...this.framer.add(f.bytes));
      out.push(...this.framer.flush());
      this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    } else this.socket.write(frames.length === 1 ? frames[0]!.bytes : Buffer.concat(frames.map((f) => f.bytes)));
  }

  noteStartup(options: Record<string, string>): void {
    this.compression = options['COMPRESSION']?.toLowerCase();
  }

  /** Write a response frame (segment-framed once v5 segments are on). */
  write(frame: RawFrame): void {
    if (this.socket.destroyed) return;
    if (this.framer) {
      for (const s of this.framer.add(frame.bytes)) this.socket.write(s);
      for (const s of this.framer.flush()) this.socket.write(s);
    } else this.socket.write(frame.bytes);
    if (
      !this.framer &&
      frame.version === ProtocolVersion.V5 &&
      (frame.opcode === Opcode.READY || frame.opcode === Opcode.AUTHENTICATE)
    ) {
      const c = this.compression === 'lz4' ? getCompressor('lz4') : undefined;
      this.framer = new SegmentFramer(c);
      this.decoder = new V5FrameDecoder({ expectResponses: false, compressor: c });
    }
  }

  /** Write the first half of the frame's bytes and destroy the socket. */
  writeHalfAndClose(frame: RawFrame): void {
    this.socket.write(frame.bytes.subarray(0, Math.max(1, frame.bytes.length >> 1)), () => this.socket.destroy());
  }
}

export class FakeServer extends EventEmitter {
  readonly received: ReceivedRequest[] = [];
  readonly connections = new Set<FakeConnection>();
  stall = false;
  delayMs = 0;
  maxVersion: ProtocolVersion;
  minVersion: ProtocolVersion;
  auth: FakeServerOptions['auth'];
  supported: Record<string, string[]>;
  peersPageSize: number | undefined;
  preparedIdSalt: string;
  readonly record: boolean;
  fastReply: FakeServerOptions['fastReply'];
  private local: Row;
  private peers: Row[];
  private handlers: RequestHandler[] = [];
  private cutNext = false;
  private nextConnId = 1;
  private readonly prepared = new Map<string, string>();
  private server!: net.Server;
  host = '127.0.0.1';
  port = 0;

  private constructor(opts: FakeServerOptions) {
    super();
    this.maxVersion = opts.maxVersion ?? ProtocolVersion.V4;
    this.minVersion = opts.minVersion ?? ProtocolVersion.V3;
    this.auth = opts.auth;
    this.supported = opts.supported ?? {
      CQL_VERSION: ['3.4.7'],
      COMPRESSION: ['lz4', 'snappy'],
      PROTOCOL_VERSIONS: ['3/v3', '4/v4', '5/v5-beta'],
    };
    this.peersPageSize = opts.peersPageSize;
    this.preparedIdSalt = opts.preparedIdSalt ?? '';
    this.record = opts.record ?? true;
    this.fastReply = opts.fastReply;
    this.local = opts.local ?? {};
    this.peers = opts.peers ?? [];
  }

  static async start(opts: FakeServerOptions = {}): Promise<FakeServer> {
    const s = new FakeServer(opts);
    s.host = opts.host ?? '127.0.0.1';
    s.local = { ...defaultLocal(s.host), ...(opts.local ?? {}) };
    s.server = net.createServer((sock) => {
      const c = new FakeConnection(s.nextConnId++, sock, s);
      s.connections.add(c);
      sock.on('close', () => s.connections.delete(c));
      s.emit('connection', c);
    });
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port ?? 0, s.host, () => resolve());
    });
    s.port = (s.server.address() as net.AddressInfo).port;
    return s;
  }

  get endpoint(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  /** Add a scripted handler; handlers run in the order added, the first non-undefined reply wins. */
  onRequest(h: RequestHandler): this {
    this.handlers.push(h);
    return this;
  }
  /** Answer the next `times` requests matching `when` with `reply` (then behave normally again). */
  failNext(when: RequestPredicate, reply: ErrorReply | { opcode: Opcode; body: Buffer } | 'drop', times = 1): this {
    let left = times;
    return this.onRequest((f, m) => (left > 0 && when(f, m) ? (left--, reply) : undefined));
  }
  /** Never answer requests matching `when` (they are recorded; the reply never comes). */
  neverReply(when: RequestPredicate): this {
    return this.onRequest((f, m) => (when(f, m) ? 'drop' : undefined));
  }
  /** Forget prepared ids (all, or one): EXECUTE and BATCH with them get UNPREPARED until prepared again. */
  forgetPrepared(id?: Buffer): void {
    if (id) this.prepared.delete(id.toString('hex'));
    else this.prepared.clear();
  }
  clearHandlers(): void {
    this.handlers = [];
  }
  setLocal(row: Row): void {
    this.local = { ...this.local, ...row };
  }
  setPeers(rows: Row[]): void {
    this.peers = rows;
  }
  cutNextResponse(): void {
    this.cutNext = true;
  }
  /** Requests with the given opcode (optionally of one connection). */
  requests(opcode?: number, connId?: number): ReceivedRequest[] {
    return this.received.filter(
      (r) => (opcode === undefined || r.opcode === opcode) && (connId === undefined || r.connId === connId),
    );
  }
  queries(): string[] {
    return this.received.filter((r) => r.query !== undefined).map((r) => r.query!);
  }

  topologyChange(change: 'NEW_NODE' | 'REMOVED_NODE' | 'MOVED_NODE', address: string, port = 9042): EventMessage {
    return { opcode: Opcode.EVENT, type: 'TOPOLOGY_CHANGE', change, address: { address, port } };
  }
  /** Send an EVENT (stream -1) to every connection that sent REGISTER. Returns how many got it. */
  pushEvent(ev: EventMessage): number {
    let n = 0;
    for (const c of this.connections) {
      if (!c.registered || c.version === undefined) continue;
      c.write(encodeFrame({ version: c.version, isResponse: true, streamId: -1, flags: 0, message: ev }));
      n++;
    }
    return n;
  }

  dropConnections(): void {
    for (const c of this.connections) c.socket.destroy();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** @internal */
  async handle(conn: FakeConnection, frame: RawFrame): Promise<void> {
    const version = frame.version;
    let decoded: Message | undefined;
    if (!frame.isCompressed) {
      try {
        // a v4+ custom payload (request-id tracing) comes before the message
        const at = skipEnvelope(frame.header, frame.body);
        decoded = decodeMessage(frame.opcode, false, frame.body.subarray(at), version, { allowTrailingBytes: true });
      } catch {
        decoded = undefined;
      }
    }
    const query = decoded && (decoded.opcode === Opcode.QUERY || decoded.opcode === Opcode.PREPARE) ? decoded.query : undefined;
    if (this.record)
      this.received.push({ connId: conn.id, version, opcode: frame.opcode, streamId: frame.streamId, frame, decoded, query });
    this.emit('request', frame, decoded, conn);

    let reply: Reply;
    if (version > this.maxVersion || version < this.minVersion) {
      reply = {
        opcode: Opcode.ERROR,
        body: errorBody(
          ErrorCode.PROTOCOL_ERROR,
          `Invalid or unsupported protocol version (${version}); highest supported version is ${versionName(this.maxVersion)}`,
        ),
      };
      const respVersion = version > this.maxVersion ? this.maxVersion : this.minVersion;
      return this.send(conn, responseFrame(respVersion, Opcode.ERROR, (reply as { body: Buffer }).body, frame.streamId));
    }
    for (const h of this.handlers) {
      reply = await h(frame, decoded, conn);
      if (reply !== undefined) break;
    }
    if (reply === undefined) reply = this.defaultReply(conn, frame, decoded);
    if (reply === 'drop' || reply === undefined || this.stall) return;
    if (reply instanceof ErrorReply) reply = { opcode: Opcode.ERROR, body: reply.body(version) };
    const out = reply instanceof RawFrame ? reply : responseFrame(version, reply.opcode, reply.body, frame.streamId);
    if (reply instanceof RawFrame) out.setStreamId(frame.streamId);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    this.send(conn, out);
  }

  private send(conn: FakeConnection, out: RawFrame): void {
    if (this.stall) return;
    if (this.cutNext) {
      this.cutNext = false;
      conn.writeHalfAndClose(out);
      return;
    }
    conn.write(out);
  }

  private defaultReply(conn: FakeConnection, frame: RawFrame, decoded: Message | undefined): Reply {
    conn.version = frame.version;
    const v = frame.version;
    switch (frame.opcode) {
      case Opcode.OPTIONS:
        return { opcode: Opcode.SUPPORTED, body: Buffer.from(new Writer(128).writeStringMultimap(this.supported).finish()) };
      case Opcode.STARTUP:
        if (decoded?.opcode === Opcode.STARTUP) conn.noteStartup(decoded.options);
        if (!this.auth) return { opcode: Opcode.READY, body: Buffer.alloc(0) };
        return {
          opcode: Opcode.AUTHENTICATE,
          body: Buffer.from(new Writer(64).writeString(this.auth.authenticator ?? PASSWORD_AUTHENTICATOR).finish()),
        };
      case Opcode.AUTH_RESPONSE: {
        const token = decoded?.opcode === Opcode.AUTH_RESPONSE ? decoded.token : null;
        if (this.auth?.authenticator === DSE_AUTHENTICATOR && token?.toString() === 'PLAIN') {
          return {
            opcode: Opcode.AUTH_CHALLENGE,
            body: Buffer.from(new Writer(32).writeBytes(Buffer.from('PLAIN-START')).finish()),
          };
        }
        const creds = token ? parsePlainToken(token) : undefined;
        if (!this.auth || (creds && creds.username === this.auth.username && creds.password === this.auth.password)) {
          conn.authenticated = true;
          return { opcode: Opcode.AUTH_SUCCESS, body: Buffer.from(new Writer(8).writeBytes(null).finish()) };
        }
        return {
          opcode: Opcode.ERROR,
          body: errorBody(ErrorCode.AUTH_ERROR, `Provided username ${creds?.username ?? ''} and/or password are incorrect`),
        };
      }
      case Opcode.REGISTER:
        conn.registered = true;
        return { opcode: Opcode.READY, body: Buffer.alloc(0) };
      case Opcode.QUERY: {
        if (decoded?.opcode !== Opcode.QUERY) return undefined;
        const q = decoded.query.trim().toLowerCase().replace(/\s+/g, ' ');
        if (/from system\.local\b/.test(q))
          return { opcode: Opcode.RESULT, body: this.tableRows(v, 'local', [this.local], null) };
        if (/from system\.peers\b/.test(q)) {
          const start = decoded.params.pagingState ? decoded.params.pagingState.readInt32BE(0) : 0;
          const size = this.peersPageSize ?? this.peers.length;
          const page = this.peers.slice(start, start + size);
          const next = start + size < this.peers.length ? Buffer.from(new Writer(4).writeInt(start + size).finish()) : null;
          return { opcode: Opcode.RESULT, body: this.tableRows(v, 'peers', page, next, this.peers) };
        }
        const use = /^use\s+"?([a-z0-9_]+)"?/i.exec(decoded.query.trim());
        if (use) {
          return {
            opcode: Opcode.RESULT,
            body: Buffer.from(new Writer(32).writeInt(ResultKind.SET_KEYSPACE).writeString(use[1]!).finish()),
          };
        }
        return { opcode: Opcode.RESULT, body: Buffer.from(new Writer(4).writeInt(ResultKind.VOID).finish()) };
      }
      case Opcode.PREPARE: {
        if (decoded?.opcode !== Opcode.PREPARE) return undefined;
        const id = this.preparedId(decoded.query);
        this.prepared.set(id.toString('hex'), decoded.query);
        const w = new Writer(64).writeInt(ResultKind.PREPARED).writeShortBytes(id);
        if (v === ProtocolVersion.V5 || v === ProtocolVersion.DSE_V2) w.writeShortBytes(id);
        w.writeInt(0).writeInt(0); // prepared metadata: flags, column count
        if (v >= ProtocolVersion.V4) w.writeInt(0); // pk count
        w.writeInt(0x4).writeInt(0); // result metadata: NO_METADATA, 0 columns
        return { opcode: Opcode.RESULT, body: Buffer.from(w.finish()) };
      }
      case Opcode.EXECUTE: {
        if (decoded?.opcode !== Opcode.EXECUTE) return undefined;
        if (!this.prepared.has(decoded.id.toString('hex'))) {
          const w = new Writer(64)
            .writeInt(ErrorCode.UNPREPARED)
            .writeString(`Prepared query with ID ${decoded.id.toString('hex')} not found`)
            .writeShortBytes(decoded.id);
          return { opcode: Opcode.ERROR, body: Buffer.from(w.finish()) };
        }
        return { opcode: Opcode.RESULT, body: Buffer.from(new Writer(4).writeInt(ResultKind.VOID).finish()) };
      }
      case Opcode.BATCH: {
        if (decoded?.opcode === Opcode.BATCH) {
          for (const c of decoded.children) {
            if (c.kind === 'prepared' && !this.prepared.has(c.id.toString('hex')))
              return errorReply.unprepared(Buffer.from(c.id));
          }
        }
        return { opcode: Opcode.RESULT, body: Buffer.from(new Writer(4).writeInt(ResultKind.VOID).finish()) };
      }
      default:
        return {
          opcode: Opcode.ERROR,
          body: errorBody(ErrorCode.PROTOCOL_ERROR, `unexpected opcode 0x${frame.opcode.toString(16)}`),
        };
    }
  }

  preparedId(query: string): Buffer {
    return createHash('md5').update(this.preparedIdSalt).update(query).digest();
  }

  private tableRows(
    version: ProtocolVersion,
    table: string,
    rows: Row[],
    pagingState: Buffer | null,
    allRows: Row[] = rows,
  ): Buffer {
    const names: string[] = [];
    for (const r of allRows.length ? allRows : rows) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
    if (table === 'peers' && names.length === 0) names.push('peer', 'data_center', 'host_id', 'rack', 'rpc_address', 'tokens');
    const columns = names.map((name) => ({ name, type: SYSTEM_COLUMN_TYPES[name] ?? DataTypes.varchar }));
    const { metadata } = rowsResult('system', table, columns, [], version, pagingState ? { pagingState } : {});
    const cells = rows.map((r) => columns.map((c) => cell(c.type, r[c.name], version)));
    return encodeMessage({ opcode: Opcode.RESULT, kind: ResultKind.ROWS, metadata, rows: cells }, version);
  }
}

function defaultLocal(host: string): Row {
  return {
    key: 'local',
    bootstrapped: 'COMPLETED',
    broadcast_address: host,
    cluster_name: 'fake-cluster',
    cql_version: '3.4.7',
    data_center: 'dc1',
    gossip_generation: 1700000000,
    host_id: hostIdFor(host),
    listen_address: host,
    native_protocol_version: '5',
    partitioner: 'org.apache.cassandra.dht.Murmur3Partitioner',
    rack: 'rack1',
    release_version: '5.0.0-fake',
    rpc_address: host,
    schema_version: '11111111-2222-3333-4444-555555555555',
    tokens: ['-9223372036854775808'],
  };
}

/** Deterministic host id for an address (tests can predict it). */
export function hostIdFor(address: string): string {
  const h = createHash('md5').update(address).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A system.peers row for a fake peer. */
export function peerRow(address: string, extra: Row = {}): Row {
  return {
    peer: address,
    rpc_address: address,
    data_center: 'dc1',
    rack: 'rack1',
    host_id: hostIdFor(address),
    release_version: '5.0.0-fake',
    schema_version: '11111111-2222-3333-4444-555555555555',
    tokens: ['0'],
    ...extra,
  };
}

export { buildPlainToken };

/** A handler: requests whose QUERY/PREPARE text matches `re` get `reply`. */
export function whenQuery(re: RegExp, reply: Reply | ErrorReply): RequestHandler {
  return (_f, m) => (m && (m.opcode === Opcode.QUERY || m.opcode === Opcode.PREPARE) && re.test(m.query) ? reply : undefined);
}
