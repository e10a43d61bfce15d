// The floor of a frame-aware proxy in Node (its own process), for the cross-process benchmark: the least any
// proxy written in Node with our codec has to do, measured side by side with the plain relay and the proxy.
//   node dist/bench/xproc/dual-relay.js '{"listenHost":"127.0.0.1","origin":{"host":..,"port":..},"target":{..}}'
// Prints {"ready":true,"port":N}.
//
// Per client connection it opens one connection to each backend and keeps the client's stream ids (one client
// connection per backend connection: no id rewriting, no in-flight records beyond a per-stream slot). It decodes
// frames with the proxy's framing (v4 frames, v5 segments), sends a PREPARE, the handshake and every write (an
// EXECUTE of a statement prepared as INSERT/UPDATE/DELETE) to both backends and answers with Origin's reply once both
// are in; any other EXECUTE goes to Origin alone. Writes are batched per connection per event-loop turn
// (cork/uncork on nextTick), as the proxy does. No routing settings, metrics, timeouts, prepared-id translation,
// timestamps, logging or error handling: a frame decoder, a map lookup, two sends and one reply.
import * as net from 'node:net';
import { Opcode } from '../../src/protocol/constants';
import type { RawFrame } from '../../src/protocol/frame';
import { ConnectionFraming } from '../../src/protocol/framing';
import { preparedIdKey } from '../../src/routing/prepared-cache';
import { peekExecuteId, peekPrepare } from '../../src/protocol/request-codec';
import { peekPreparedIds } from '../../src/protocol/messages/result';

interface Endpoint {
  host: string;
  port: number;
}
const o = JSON.parse(process.argv[2] ?? '{}') as { listenHost: string; origin: Endpoint; target: Endpoint };

/** prepared id (latin1 key) -> is a write (sent to both) */
const writes = new Map<string, boolean>();

class Side {
  readonly framing = new ConnectionFraming({});
  private corked = false;
  constructor(
    readonly socket: net.Socket,
    private readonly server: boolean,
  ) {
    socket.setNoDelay(true);
  }
  write(f: RawFrame): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        for (const s of this.framing.flush()) this.socket.write(s);
        this.socket.uncork();
      });
    }
    for (const s of this.framing.encode(f.bytes)) this.socket.write(s);
    if (this.server) this.framing.afterWrite(f);
  }
}

const server = net.createServer((socket) => {
  const client = new Side(socket, true);
  const origin = new Side(net.connect(o.origin), false);
  const target = new Side(net.connect(o.target), false);
  /** per client stream id: replies still expected (0 = origin-only), Origin's reply held, PREPARE's statement kind */
  const waiting: number[] = [];
  const held: (RawFrame | undefined)[] = [];
  const preparing: (boolean | undefined)[] = [];
  const end = (): void => {
    socket.destroy();
    origin.socket.destroy();
    target.socket.destroy();
  };
  for (const s of [socket, origin.socket, target.socket]) s.on('error', end).on('close', end);

  socket.on('data', (chunk: Buffer) => {
    for (const f of client.framing.push(chunk)) {
      let both = true;
      if (f.opcode === Opcode.EXECUTE) both = writes.get(preparedIdKey(peekExecuteId(f.body))) === true;
      else if (f.opcode === Opcode.PREPARE)
        preparing[f.streamId] = /^\s*(insert|update|delete)/i.test(peekPrepare(f.body, f.version).query);
      if (both) {
        waiting[f.streamId] = 2;
        origin.write(f);
        target.write(f.withStreamId(f.streamId));
      } else {
        waiting[f.streamId] = 0;
        origin.write(f);
      }
    }
  });
  const reply = (f: RawFrame, fromOrigin: boolean): void => {
    const id = f.streamId;
    const w = waiting[id]!;
    if (w === 0) return client.write(f);
    if (fromOrigin) held[id] = f;
    if (w === 2) {
      waiting[id] = 1;
      return;
    }
    const r = held[id]!;
    held[id] = undefined;
    const isWrite = preparing[id];
    if (isWrite !== undefined) {
      preparing[id] = undefined;
      const ids = r.opcode === Opcode.RESULT ? peekPreparedIds(r.body, r.version) : undefined;
      if (ids) writes.set(preparedIdKey(ids.id), isWrite);
    }
    client.write(r);
  };
  for (const [side, fromOrigin] of [
    [origin, true],
    [target, false],
  ] as const) {
    side.socket.on('data', (chunk: Buffer) => {
      for (const f of side.framing.push(chunk)) {
        side.framing.afterRead(f);
        reply(f, fromOrigin);
      }
    });
  }
});
server.listen(0, o.listenHost, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: (server.address() as net.AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
