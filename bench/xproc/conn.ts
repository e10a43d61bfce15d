// A lean CQL connection for the cross-process benchmark: handshake (STARTUP, optional PLAIN auth, v5 segment
// switch after READY/AUTHENTICATE), then pipelined requests with pre-encoded frames. Built on src/protocol.
import * as net from 'node:net';
import {
  Consistency,
  FrameDecoder,
  Opcode,
  ProtocolVersion,
  ResultKind,
  decodeFrame,
  encodeFrame,
  type Frame,
  type RawFrame,
  type RequestMessage,
} from '../../src/protocol';
import { writeStreamId } from '../../src/protocol/frame';
import { SegmentFramer, V5FrameDecoder } from '../../src/protocol/segment';
import { buildPlainToken } from '../../src/backend/authenticator';

export interface ConnOptions {
  host: string;
  port: number;
  version: ProtocolVersion;
  credentials?: { username: string; password: string };
}

export class BenchConnection {
  private decoder: { push(b: Buffer): RawFrame[] } = new FrameDecoder({ expectResponses: true });
  private framer: SegmentFramer | undefined;
  private waiting = new Map<number, (f: RawFrame) => void>();
  /** hot path: called for every reply that has no awaiting setup request */
  onReply: (f: RawFrame) => void = () => {};
  closed = false;
  private out: Buffer[] = [];
  private flushQueued = false;

  private constructor(
    readonly socket: net.Socket,
    readonly version: ProtocolVersion,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => {
      for (const f of this.decoder.push(b)) {
        const w = this.waiting.get(f.streamId);
        if (w) {
          this.waiting.delete(f.streamId);
          w(f);
        } else this.onReply(f);
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  static async open(o: ConnOptions): Promise<BenchConnection> {
    const socket = net.connect({ host: o.host, port: o.port });
    await new Promise<void>((res, rej) => {
      socket.once('connect', res);
      socket.once('error', rej);
    });
    const c = new BenchConnection(socket, o.version);
    let r = await c.call({ opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } }, 0);
    if (r.message.opcode === Opcode.AUTHENTICATE) {
      c.switchToSegments();
      if (!o.credentials) throw new Error('the server asks for authentication: give credentials');
      r = await c.call(
        { opcode: Opcode.AUTH_RESPONSE, token: buildPlainToken(o.credentials.username, o.credentials.password) },
        0,
      );
      if (r.message.opcode !== Opcode.AUTH_SUCCESS) throw new Error(`authentication failed: ${JSON.stringify(r.message)}`);
    } else if (r.message.opcode === Opcode.READY) c.switchToSegments();
    else throw new Error(`STARTUP answered with opcode ${r.message.opcode}: ${JSON.stringify(r.message)}`);
    return c;
  }

  private switchToSegments(): void {
    if (this.version !== ProtocolVersion.V5 || this.framer) return;
    this.framer = new SegmentFramer();
    this.decoder = new V5FrameDecoder({ expectResponses: true });
  }

  /** One request, awaited (setup only). */
  call(message: RequestMessage, streamId = 1): Promise<Frame> {
    const raw = encodeFrame({ version: this.version, isResponse: false, streamId, flags: 0, message });
    return new Promise((resolve, reject) => {
      this.waiting.set(streamId, (f) => {
        try {
          resolve(decodeFrame(f));
        } catch (e) {
          reject(e);
        }
      });
      this.send(Buffer.from(raw.bytes));
      this.flush();
    });
  }

  async query(cql: string): Promise<Frame> {
    const f = await this.call({ opcode: Opcode.QUERY, query: cql, params: { consistency: Consistency.LOCAL_ONE } });
    if (f.message.opcode === Opcode.ERROR) throw new Error(`${cql}: ${JSON.stringify(f.message)}`);
    return f;
  }

  async prepare(cql: string): Promise<{ id: Buffer; resultMetadataId?: Buffer }> {
    const f = await this.call({ opcode: Opcode.PREPARE, query: cql });
    const m = f.message as { opcode: number; kind?: number; id?: Buffer; resultMetadataId?: Buffer };
    if (m.opcode !== Opcode.RESULT || m.kind !== ResultKind.PREPARED || !m.id)
      throw new Error(`PREPARE ${cql}: ${JSON.stringify(f.message)}`);
    return { id: Buffer.from(m.id), resultMetadataId: m.resultMetadataId ? Buffer.from(m.resultMetadataId) : undefined };
  }

  /** Queue a pre-encoded frame with its stream id set (copied); written at the end of this event-loop turn. */
  sendTemplate(template: Buffer, streamId: number): void {
    const b = Buffer.allocUnsafe(template.length);
    template.copy(b);
    writeStreamId(b, this.version, streamId);
    this.send(b);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flushNow);
    }
  }

  private send(b: Buffer): void {
    if (this.framer) for (const s of this.framer.add(b)) this.out.push(s);
    else this.out.push(b);
  }

  private readonly flushNow = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  flush(): void {
    if (this.framer) for (const s of this.framer.flush()) this.out.push(s);
    if (this.out.length === 0) return;
    const data = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An EXECUTE frame (stream id 0) for `id` with the given bound values (and a client timestamp when asked). */
export function executeTemplate(
  version: ProtocolVersion,
  p: { id: Buffer; resultMetadataId?: Buffer },
  values: Buffer[],
  clientTimestamp = false,
): Buffer {
  const message: RequestMessage = {
    opcode: Opcode.EXECUTE,
    id: p.id,
    ...(version === ProtocolVersion.V5 ? { resultMetadataId: p.resultMetadataId ?? p.id } : {}),
    params: {
      consistency: Consistency.LOCAL_ONE,
      values,
      skipMetadata: true,
      ...(clientTimestamp ? { defaultTimestamp: BigInt(Date.now()) * 1000n } : {}),
    },
  };
  return Buffer.from(encodeFrame({ version, isResponse: false, streamId: 0, flags: 0, message }).bytes);
}
