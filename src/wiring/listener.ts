/**
 * Listener setup of `startProxy`: the client listener, one ClientSession per admitted socket, and the set of
 * live sessions (for shutdown, host removal and the late-replies counter).
 */
import type { ProxyConfig } from '../config/types';
import { ClientSession, type SessionDeps } from '../frontend/client-session';
import { ClientListener } from '../frontend/listener';
import type { ProxyTlsMaterial } from '../tls/server';

export interface ClientSessions {
  listener: ClientListener;
  /** The live sessions (removed when they close). */
  sessions: Set<ClientSession>;
}

/**
 * A listener (not yet listening) that hands each admitted socket to a new ClientSession built from `deps`;
 * `started(session)` runs once the session's cluster connections are open.
 */
export function clientSessions(
  config: ProxyConfig,
  proxyTls: ProxyTlsMaterial | undefined,
  deps: SessionDeps,
  started: (s: ClientSession) => void,
): ClientSessions {
  const sessions = new Set<ClientSession>();
  deps.counters?.setLiveLateRepliesSource(() => {
    let n = 0;
    for (const s of sessions) n += s.lateReplies;
    return n;
  });
  const listener = new ClientListener({
    host: config.settings.proxy_listen_address,
    port: config.settings.proxy_listen_port,
    maxClientConnections: config.settings.proxy_max_client_connections,
    logger: deps.logger,
    tls: proxyTls?.serverOptions(),
    onConnection: (socket, release) => {
      const s = new ClientSession(socket, deps);
      sessions.add(s);
      s.onClose(() => {
        sessions.delete(s);
        release();
      });
      void s.start().then((ok) => {
        if (ok) started(s);
      });
    },
  });
  return { listener, sessions };
}
