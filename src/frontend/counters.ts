/**
 * Process-wide counters of the request path, as plain numbers (no allocation, no label lookups): one
 * instance per proxy, shared by every client session, readable by the metrics module and by tests
 * (`RunningProxy.counters`).
 */
export class ProxyCounters {
  /** EXECUTE/BATCH naming a prepared id the cache does not hold (client got UNPREPARED; `pscache_miss_total`) */
  preparedCacheMisses = 0;
  /** requests given up after proxy_request_timeout_ms (client got no reply) */
  requestTimeouts = 0;
  /** cluster replies that arrived after their request timed out (dropped), from closed sessions; see `lateReplies()` */
  lateRepliesOfClosedSessions = 0;
  /** client connections closed because their ORIGIN or TARGET connection was lost */
  sessionsClosedByClusterLoss = 0;
  /** ORIGIN/TARGET connections of ready sessions lost while the other one was up: the session survived (issue 12) */
  clusterConnectionsLost = 0;
  /** ... reopened by the session in the background */
  clusterConnectionsReopened = 0;
  /** requests refused with UNAVAILABLE (sent nowhere) because a cluster they need was down for their session */
  clusterDownRefusals = 0;
  /** client connections drained because their ORIGIN/TARGET host left the topology (upstream-spec-notes 2.8) */
  sessionsDrainedByHostRemoval = 0;
  /** EXECUTE/BATCH for both clusters that got UNPREPARED from one only: re-prepared and re-sent there (issue 12) */
  unpreparedHealed = 0;
  /** ... that could not be healed (the client got SERVER_ERROR, never UNPREPARED) */
  unpreparedNotHealed = 0;
  /** USE that succeeded on one cluster only: the previous keyspace was restored there (issue 12) */
  useRestored = 0;

  // ---- async dual reads (upstream-spec-notes 5.4) ----
  /** async connections opened (handshake done) / that could not be opened */
  asyncConnectionsOpened = 0;
  asyncConnectionsFailed = 0;
  /** requests written to the async connection */
  asyncSent = 0;
  /** requests not sent because the async queue (or its stream id pool) was full */
  asyncDropped = 0;
  /** async replies that were errors (or the connection failed under them) */
  asyncFailed = 0;
  /** async requests that got no reply within proxy_request_timeout_ms */
  asyncTimeouts = 0;
  /** async requests that got a reply, and the sum of their durations (seconds) */
  asyncCompleted = 0;
  asyncDurationSecondsSum = 0;
  /** PREPAREs sent to the async cluster after an UNPREPARED there */
  asyncReprepares = 0;

  /** Live late-reply counts of open sessions (set by the proxy wiring). */
  private liveLateReplies: () => number = () => 0;

  setLiveLateRepliesSource(fn: () => number): void {
    this.liveLateReplies = fn;
  }

  /** Late replies dropped so far (closed sessions + open ones). */
  lateReplies(): number {
    return this.lateRepliesOfClosedSessions + this.liveLateReplies();
  }
}
