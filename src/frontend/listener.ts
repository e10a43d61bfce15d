/**
 * Client-facing listener and admission (upstream-spec-notes 2.3): at or above `proxy_max_client_connections`
 * active client connections, a new connection is accepted and closed at once; once others leave,
 * connections are admitted again. With `tls` it is a TLS listener (upstream-spec-notes 7.1): every client must use
 * TLS, and a connection is handed on once its handshake succeeded; a failed handshake is logged.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Logger } from 'pino';

export interface ListenerOptions {
  host: string;
  port: number;
  maxClientConnections: number;
  logger: Logger;
  /** Called for every admitted connection; must call `release()` exactly once when the connection is gone. */
  onConnection: (socket: net.Socket, release: () => void) => void;
  /** Client-facing TLS (undefined = plain TCP). */
  tls?: tls.TlsOptions;
}

export class ClientListener {
  private readonly server: net.Server;
  private active = 0;
  private closed = false;

  constructor(private readonly opts: ListenerOptions) {
    if (opts.tls) {
      const server = tls.createServer({ ...opts.tls, noDelay: true }, (s) => this.onSocket(s));
      server.on('tlsClientError', (e: Error, s: tls.TLSSocket) => {
        const from =
          s.remoteAddress !== undefined ? `client ${s.remoteAddress}:${s.remotePort}` : 'a client (already disconnected)';
        opts.logger.warn(`TLS handshake with ${from} failed: ${e.message.trim()}`);
      });
      this.server = server;
    } else {
      this.server = net.createServer({ pauseOnConnect: true, noDelay: true }, (s) => this.onSocket(s));
    }
    this.server.on('error', (e) => opts.logger.error(`Error while accepting client connections: ${e.message}`));
  }

  /** TLS listener: new connections use this material (certificate rotation); open ones keep theirs. */
  setSecureContext(context: tls.SecureContextOptions): void {
    if (!(this.server instanceof tls.Server)) throw new Error('the client listener does not use TLS');
    this.server.setSecureContext(context);
  }

  get activeConnections(): number {
    return this.active;
  }

  listen(): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', onError);
        const a = this.server.address() as net.AddressInfo;
        resolve({ address: a.address, port: a.port });
      });
    });
  }

  private onSocket(socket: net.Socket): void {
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => {}); // errors are handled by the session; never crash on a reset
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.active >= this.opts.maxClientConnections) {
      this.opts.logger.warn(
        `Refusing client connection from ${from} because max clients threshold has been hit (${this.opts.maxClientConnections}).`,
      );
      socket.destroy();
      return;
    }
    this.active++;
    this.opts.logger.info(`Accepted connection from ${from}`);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.active--;
    };
    try {
      this.opts.onConnection(socket, release);
    } catch (e) {
      this.opts.logger.error(`cannot set up the client connection from ${from}: ${(e as Error).message}`);
      release();
      socket.destroy();
    }
  }

  /** Stop accepting new connections (existing ones are not touched). */
  close(): Promise<void> {
    this.closed = true;
    // server.close() calls back only when every accepted socket is gone: do not wait for that here.
    if (this.server.listening) this.server.close();
    return Promise.resolve();
  }
}
