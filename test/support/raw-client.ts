/**
 * A tiny CQL client over the project's codec (src/protocol), for tests that need to see frames a
 * driver hides: the prepared id a PREPARE returns, an UNPREPARED error, EVENT frames, a connection
 * that is refused or closed, a request that never gets a reply.
 *
 *   const c = await RawCqlClient.connect({ host: '127.0.0.1', port: 9042 });   // STARTUP + PLAIN auth
 *   const id = await c.prepare('SELECT v FROM ks.t WHERE k = ?');
 *   const r = await c.execute(id, [int(1)]);               // decoded response Frame (RESULT or ERROR)
 *   await c.register(['SCHEMA_CHANGE']); c.events           // EVENT frames received so far
 *   c.close();
 *
 * Protocol v4 by default. With `version: V5` the connection switches to v5 segments after the READY or
 * AUTHENTICATE answering STARTUP (as a driver does), LZ4-compressed segments with `compression: 'lz4'`;
 * `writeRaw` puts any bytes on the wire (corrupt segments, frames before STARTUP). Every request has its own stream id; a request with
 * no reply rejects after `timeoutMs` with a `RawTimeoutError` (the connection stays usable).
 */
import * as net from 'node:net';
import { EventEmitter } from 'node:events';

import {
  BatchType,
  Consistency,
  ConnectionFraming,
  ErrorCode,
  FrameDecoder,
  Opcode,
  ProtocolVersion,
  ResultKind,
  decodeFrame,
  lz4BodyCompressor,
  decodeValue,
  encodeFrame,
  type BatchChild,
  type CqlValue,
  type Frame,
  type Message,
  type RawFrame,
  type RequestMessage,
  type Value,
} from '../../src/protocol';

export interface RawConnectOptions {
  host: string;
  port: number;
  version?: ProtocolVersion;
  /** null: no credentials (fail if the server asks). Default cassandra/cassandra. */
  credentials?: { username: string; password: string } | null;
  /** Reject connect() if the handshake takes longer (default 10 s). */
  timeoutMs?: number;
  /** Skip STARTUP/auth: only open the TCP connection. */
  noHandshake?: boolean;
  /** v5 only: ask for LZ4 in STARTUP (segments are then LZ4-compressed both ways). */
  compression?: 'lz4';
}

export class RawTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no reply within ${ms} ms`);
    this.name = 'RawTimeoutError';
  }
}
export class RawClosedError extends Error {
  constructor(what: string, why?: string) {
    super(`${what}: connection closed${why ? ` (${why})` : ''}`);
    this.name = 'RawClosedError';
  }
}

interface Pending {
  resolve(f: Frame): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
  what: string;
}

/** The error code and message of an ERROR frame, undefined for any other frame. */
export function errorOf(f: Frame): { code: number; message: string; id?: Buffer } | undefined {
  if (f.message.opcode !== Opcode.ERROR) return undefined;
  const m = f.message as { code: number; message: string; id?: Buffer };
  return { code: m.code, message: m.message, ...(m.id ? { id: Buffer.from(m.id) } : {}) };
}

/** Throws with the server's error when the frame is an ERROR. */
export function expectResult(f: Frame, what = 'request'): Frame {
  const e = errorOf(f);
  if (e) throw new Error(`${what}: ERROR 0x${e.code.toString(16)} ${e.message}`);
  if (f.message.opcode !== Opcode.RESULT) throw new Error(`${what}: unexpected opcode ${f.message.opcode}`);
  return f;
}

/** Rows of a RESULT/Rows frame as objects (column name -> decoded value). */
export function rowsOf(f: Frame): Record<string, CqlValue>[] {
  expectResult(f, 'rows');
  const m = f.message as {
    kind: number;
    metadata?: { columns?: { name: string; type: import('../../src/protocol').DataType }[] };
    rows?: (Buffer | null)[][];
  };
  if (m.kind !== ResultKind.ROWS) throw new Error(`not a Rows result (kind ${m.kind})`);
  const cols = m.metadata?.columns ?? [];
  return (m.rows ?? []).map((row) => {
    const o: Record<string, CqlValue> = {};
    cols.forEach((c, i) => {
      o[c.name] = decodeValue(c.type, row[i] ?? null, f.version);
    });
    return o;
  });
}

/** [value] encoders for bound values. */
export const bind = {
  int(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  },
  bigint(n: bigint): Buffer {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    return b;
  },
  text(s: string): Buffer {
    return Buffer.from(s, 'utf8');
  },
};

export class RawCqlClient extends EventEmitter {
  readonly version: ProtocolVersion;
  readonly events: Frame[] = [];
  /** Legacy frames, then v5 segments after the READY/AUTHENTICATE answering a v5 STARTUP. */
  readonly framing = new ConnectionFraming({ expectResponses: true });
  private readonly pending = new Map<number, Pending>();
  private nextStream = 1;
  private closedWith: string | undefined;
  private readonly closedPromise: Promise<string>;
  /** v5: result metadata id of each prepared id (hex) this client prepared. */
  private readonly resultMetadataIds = new Map<string, Buffer>();
  /** Frames that arrived for no pending request (e.g. the late reply of a timed-out request). */
  readonly orphans: Frame[] = [];

  private constructor(
    readonly socket: net.Socket,
    version: ProtocolVersion,
    readonly compression?: 'lz4',
  ) {
    super();
    this.version = version;
    if (compression) {
      if (version !== ProtocolVersion.V5) throw new Error('RawCqlClient: compression is only implemented for v5 segments');
      this.framing.setSegmentCompressor(lz4BodyCompressor);
    }
    let onClosed!: (why: string) => void;
    this.closedPromise = new Promise((r) => (onClosed = r));
    socket.on('data', (chunk: Buffer) => {
      let frames: RawFrame[];
      try {
        frames = this.framing.push(chunk);
      } catch (e) {
        socket.destroy(e as Error);
        return;
      }
      for (const raw of frames) {
        this.framing.afterRead(raw);
        this.onFrame(raw);
      }
    });
    const closed = (why: string): void => {
      if (this.closedWith !== undefined) return;
      this.closedWith = why;
      for (const [id, p] of this.pending) {
        if (p.timer) clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(new RawClosedError(p.what, why));
      }
      onClosed(why);
      this.emit('close', why);
    };
    socket.on('error', (e) => closed(e.message));
    socket.on('close', () => closed('closed'));
    socket.on('end', () => {
      closed('end of stream');
      socket.destroy();
    });
  }

  /** Opens a TCP connection and (unless noHandshake) runs STARTUP and PLAIN auth. */
  static async connect(opts: RawConnectOptions): Promise<RawCqlClient> {
    const version = opts.version ?? ProtocolVersion.V4;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: opts.host, port: opts.port });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect ${opts.host}:${opts.port}: timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    socket.setNoDelay(true);
    const c = new RawCqlClient(socket, version, opts.compression);
    if (opts.noHandshake) return c;
    try {
      await c.handshake(
        opts.credentials === undefined ? { username: 'cassandra', password: 'cassandra' } : opts.credentials,
        timeoutMs,
      );
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** STARTUP, then PLAIN auth if the server asks. */
  async handshake(credentials: { username: string; password: string } | null, timeoutMs = 10_000): Promise<void> {
    const options: Record<string, string> = {
      CQL_VERSION: '3.0.0',
      ...(this.compression ? { COMPRESSION: this.compression } : {}),
    };
    const r = await this.request({ opcode: Opcode.STARTUP, options }, timeoutMs);
    if (r.message.opcode === Opcode.READY) return;
    if (r.message.opcode === Opcode.AUTHENTICATE) {
      if (!credentials) throw new Error('server asked for authentication, no credentials given');
      const token = Buffer.concat([
        Buffer.from([0]),
        Buffer.from(credentials.username),
        Buffer.from([0]),
        Buffer.from(credentials.password),
      ]);
      const a = await this.request({ opcode: Opcode.AUTH_RESPONSE, token }, timeoutMs);
      if (a.message.opcode === Opcode.AUTH_SUCCESS) return;
      throw new Error(`authentication failed: ${JSON.stringify(errorOf(a) ?? a.message.opcode)}`);
    }
    throw new Error(`STARTUP: unexpected reply ${JSON.stringify(errorOf(r) ?? r.message.opcode)}`);
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }
  /** Resolves (with the reason) when the connection closes. */
  get closed(): Promise<string> {
    return this.closedPromise;
  }
  /** Resolves true if the connection closes within ms, false otherwise. */
  async closesWithin(ms: number): Promise<boolean> {
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.closedPromise.then(() => true),
      new Promise<boolean>((res) => (t = setTimeout(() => res(false), ms))),
    ]);
    if (t) clearTimeout(t);
    return r;
  }

  /** Sends a request and resolves with the decoded response frame (RESULT, ERROR, ...). */
  request(message: RequestMessage, timeoutMs = 10_000): Promise<Frame> {
    const what = `opcode 0x${message.opcode.toString(16)}`;
    if (this.closedWith !== undefined) return Promise.reject(new RawClosedError(what, this.closedWith));
    const stream = this.takeStream();
    const frame: Frame = { version: this.version, isResponse: false, streamId: stream, flags: 0, message: message as Message };
    const raw = encodeFrame(frame);
    return new Promise<Frame>((resolve, reject) => {
      const p: Pending = { resolve, reject, what };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          // Keep the stream id reserved (a late reply may still come): park it as an orphan slot.
          this.pending.set(stream, { resolve: (f) => this.orphans.push(f), reject: () => undefined, what });
          reject(new RawTimeoutError(what, timeoutMs));
        }, timeoutMs);
      }
      this.pending.set(stream, p);
      this.writeFrame(raw.bytes);
    });
  }

  /** True once the connection speaks v5 segments. */
  get segments(): boolean {
    return this.framing.segments;
  }

  /** Write whole frame bytes: as they are, or in segments once v5 segments are on. */
  writeFrame(frame: Buffer): void {
    if (!this.framing.segments) {
      this.socket.write(frame);
      return;
    }
    for (const s of this.framing.encode(frame)) this.socket.write(s);
    for (const s of this.framing.flush()) this.socket.write(s);
  }

  /** Write bytes as they are (no framing): corrupt segments, frames before STARTUP. */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  query(
    cql: string,
    values?: Value[],
    opts: { consistency?: Consistency; timeoutMs?: number; pageSize?: number } = {},
  ): Promise<Frame> {
    return this.request(
      {
        opcode: Opcode.QUERY,
        query: cql,
        params: {
          consistency: opts.consistency ?? Consistency.ONE,
          ...(values ? { values } : {}),
          ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
        },
      },
      opts.timeoutMs,
    );
  }

  /** PREPARE; resolves with the prepared id (throws on an ERROR reply). */
  async prepare(cql: string, timeoutMs?: number): Promise<Buffer> {
    const f = expectResult(await this.request({ opcode: Opcode.PREPARE, query: cql }, timeoutMs), `PREPARE ${cql}`);
    const m = f.message as { kind: number; id: Buffer; resultMetadataId?: Buffer };
    if (m.kind !== ResultKind.PREPARED) throw new Error(`PREPARE ${cql}: result kind ${m.kind}`);
    if (m.resultMetadataId) this.resultMetadataIds.set(Buffer.from(m.id).toString('hex'), Buffer.from(m.resultMetadataId));
    return Buffer.from(m.id);
  }

  /** EXECUTE; on v5 the result metadata id is the one the PREPARE of `id` returned (empty if unknown). */
  execute(id: Buffer, values: Value[] = [], opts: { consistency?: Consistency; timeoutMs?: number } = {}): Promise<Frame> {
    const resultMetadataId =
      this.version === ProtocolVersion.V5 ? (this.resultMetadataIds.get(id.toString('hex')) ?? Buffer.alloc(0)) : undefined;
    return this.request(
      {
        opcode: Opcode.EXECUTE,
        id,
        ...(resultMetadataId ? { resultMetadataId } : {}),
        params: { consistency: opts.consistency ?? Consistency.ONE, ...(values.length ? { values } : {}) },
      },
      opts.timeoutMs,
    );
  }

  batch(type: BatchType, children: BatchChild[], opts: { consistency?: Consistency; timeoutMs?: number } = {}): Promise<Frame> {
    return this.request(
      { opcode: Opcode.BATCH, type, children, consistency: opts.consistency ?? Consistency.ONE },
      opts.timeoutMs,
    );
  }

  /** REGISTER for the given event types; throws unless READY. */
  async register(types: string[], timeoutMs?: number): Promise<void> {
    const f = await this.request({ opcode: Opcode.REGISTER, eventTypes: types }, timeoutMs);
    if (f.message.opcode !== Opcode.READY)
      throw new Error(`REGISTER: unexpected reply ${JSON.stringify(errorOf(f) ?? f.message.opcode)}`);
  }

  options(timeoutMs?: number): Promise<Frame> {
    return this.request({ opcode: Opcode.OPTIONS }, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  private takeStream(): number {
    for (let i = 0; i < 32_000; i++) {
      const id = this.nextStream;
      this.nextStream = this.nextStream >= 32_000 ? 1 : this.nextStream + 1;
      if (!this.pending.has(id)) return id;
    }
    throw new Error('no free stream id');
  }

  private onFrame(raw: RawFrame): void {
    let f: Frame;
    try {
      f = decodeFrame(raw, undefined, undefined, { allowTrailingBytes: true });
    } catch (e) {
      this.socket.destroy(e as Error);
      return;
    }
    if (f.streamId === -1 || f.message.opcode === Opcode.EVENT) {
      this.events.push(f);
      this.emit('event', f);
      return;
    }
    const p = this.pending.get(f.streamId);
    if (!p) {
      this.orphans.push(f);
      return;
    }
    this.pending.delete(f.streamId);
    if (p.timer) clearTimeout(p.timer);
    p.resolve(f);
  }
}

export { BatchType, Consistency, ErrorCode, Opcode, ProtocolVersion, ResultKind };

export interface RawExchange {
  /** the response frames that came back, decoded (undecodable ones are left out and counted) */
  frames: Frame[];
  undecodable: number;
  /** the proxy closed the connection */
  closed: boolean;
}

/**
 * Opens a TCP connection, writes `bytes` as they are, and collects what comes back until the peer closes,
 * `until(frames)` is true, or `waitMs` passes (then the connection is closed by us). For bad-input tests.
 */
export async function exchangeBytes(
  host: string,
  port: number,
  bytes: Uint8Array | Uint8Array[],
  opts: { waitMs?: number; until?: (frames: Frame[]) => boolean; end?: boolean } = {},
): Promise<RawExchange> {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  const decoder = new FrameDecoder({ expectResponses: true });
  const out: RawExchange = { frames: [], undecodable: 0, closed: false };
  return new Promise<RawExchange>((resolve) => {
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      out.closed = closed;
      socket.destroy();
      resolve(out);
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 3000);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const raw of decoder.push(chunk)) {
          try {
            out.frames.push(decodeFrame(raw, undefined, undefined, { allowTrailingBytes: true }));
          } catch {
            out.undecodable++;
          }
        }
      } catch {
        out.undecodable++;
      }
      if (opts.until?.(out.frames)) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) socket.write(b);
      if (opts.end) socket.end();
    });
  });
}
