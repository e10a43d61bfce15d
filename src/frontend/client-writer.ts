/**
 * Writes to one client socket (upstream-spec-notes 2.6): frames are corked and flushed once per event-loop tick (small
 * replies coalesce into one write), and reading the client is paused while the client socket or one of
 * the session's cluster connections is congested (back-pressure), resumed when they drain. While the client
 * socket itself is full, the session also stops reading replies from the clusters (`onClientFull`).
 *
 * On a v5 connection the frames go out in segments (`ConnectionFraming`): the frames of one tick share
 * self-contained segments, flushed when the tick's cork is released; the framing switches to segments
 * right after the READY/AUTHENTICATE answering a v5 STARTUP is written.
 *
 * Owns nothing but the socket's write side and its paused/corked flags; the session decides when to close.
 */
import type * as net from 'node:net';
import type { ConnectionFraming, RawFrame } from '../protocol/codec';

export class ClientWriter {
  private corked = false;
  private paused = false;
  private closed = false;
  private clientFull = false;

  /**
   * @param congestedElsewhere true while something else (cluster connections, handshake queue) is congested
   * @param onClientFull called with true when the client socket's buffer goes over its high-water mark (stop reading
   *   replies from the clusters, so a client that does not read cannot grow this buffer without bound), false once drained
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly congestedElsewhere: () => boolean,
    private readonly framing: ConnectionFraming,
    private readonly onClientFull?: (full: boolean) => void,
  ) {}

  get isPaused(): boolean {
    return this.paused;
  }

  /** Start a cork for this tick (several writes -> one socket write). */
  cork(): void {
    if (this.corked || this.closed) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      if (this.framing.segments && !this.closed && !this.socket.destroyed)
        for (const s of this.framing.flush()) this.socket.write(s);
      this.socket.uncork();
    });
  }

  /** Write one frame. Throws ProtocolError when the switch to v5 segments is impossible (non-LZ4 compression). */
  write(f: RawFrame): void {
    if (this.closed || this.socket.destroyed) return;
    this.cork();
    if (this.framing.segments) for (const s of this.framing.encode(f.bytes)) this.socket.write(s);
    else {
      this.socket.write(f.bytes);
      this.framing.afterWrite(f);
    }
    if (this.socket.writableNeedDrain) this.updateFlow();
  }

  /** Pause reading the client while a cluster connection or the client socket is congested. */
  updateFlow(): void {
    if (this.closed) return;
    const full = this.socket.writableNeedDrain;
    if (full !== this.clientFull) {
      this.clientFull = full;
      this.onClientFull?.(full);
    }
    const congested = full || this.congestedElsewhere();
    if (congested && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!congested && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** No more writes; the socket is ended (pending bytes flushed) or destroyed, and destroyed after 1 s anyway. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.socket.writableLength > 0 && !this.socket.destroyed) this.socket.end();
    else this.socket.destroy();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
