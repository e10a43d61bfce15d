// Readiness / liveness (upstream-spec-notes 6.3, `proxy/pkg/health/health.go`).
//
// Readiness JSON uses Go's default field names and order:
//   {"OriginStatus":{"Addr":"10.0.0.1:9042","CurrentFailureCount":0,"FailureCountThreshold":1,"Status":"UP"},
//    "TargetStatus":{...},"Status":"UP"}
// 200 when Status is UP, else 503. Before the proxy is up (and once its shutdown completed):
//   {"OriginStatus":null,"TargetStatus":null,"Status":"STARTUP"} with 503.
// Per cluster: Status DOWN when CurrentFailureCount >= heartbeat_failure_threshold; Addr = the control
// connection's current endpoint or NOT_CONNECTED. Overall UP only if both clusters are UP.
// Readiness looks at nothing else (client connections, listener and async side are ignored).
import type { ClusterName } from '../cluster';

export type ProxyState = 'STARTUP' | 'RUNNING' | 'SHUTDOWN';

export interface ControlConnectionHealth {
  cluster: ClusterName;
  /** Consecutive control connection failures (ControlConnection.consecutiveFailures). */
  consecutiveFailures: number;
  /** `ip:port` of the current control endpoint; undefined = not connected. */
  endpoint?: string;
}

/** Extension: the write journal's state, shown as a readiness detail (it never changes Status). */
export interface JournalHealth {
  Status: 'OK' | 'FULL' | 'FAILING';
  Dir: string;
  Bytes: number;
  MaxBytes: number;
  Records: number;
  DroppedRecords: number;
}

/** What the proxy exposes to the health endpoints (read at each request). */
export interface HealthSource {
  state: ProxyState;
  controlConnections: readonly ControlConnectionHealth[];
  /** journal_dir set: the journal's state (readiness detail `Journal`) */
  journal?: () => JournalHealth;
  /** proxy_workers > 1: worker processes configured and running (readiness detail `Workers`; DOWN unless all run) */
  workers?: { expected: number; running: number };
}

/** Extension (proxy_workers > 1): readiness detail; Status is DOWN while Running < Expected. */
export interface WorkersHealth {
  Expected: number;
  Running: number;
}

export type HealthStatus = 'UP' | 'DOWN' | 'STARTUP';

export interface ControlConnStatus {
  Addr: string;
  CurrentFailureCount: number;
  FailureCountThreshold: number;
  Status: 'UP' | 'DOWN';
}

export interface StatusReport {
  OriginStatus: ControlConnStatus | null;
  TargetStatus: ControlConnStatus | null;
  Status: HealthStatus;
  /** extension, present only with journal_dir set */
  Journal?: JournalHealth;
  /** extension, present only with proxy_workers > 1 */
  Workers?: WorkersHealth;
}

export interface HealthResponse {
  statusCode: number;
  contentType: string;
  body: string;
}

export const NOT_CONNECTED = 'NOT_CONNECTED';
/** Source to use before the proxy object exists. */
export const STARTUP_HEALTH: HealthSource = Object.freeze({ state: 'STARTUP', controlConnections: Object.freeze([]) });

function controlConnStatus(cc: ControlConnectionHealth | undefined, threshold: number): ControlConnStatus {
  if (!cc) {
    // Not part of upstream (its proxy always has both control connections): a missing one is reported DOWN.
    return { Addr: NOT_CONNECTED, CurrentFailureCount: 0, FailureCountThreshold: threshold, Status: 'DOWN' };
  }
  const failures = cc.consecutiveFailures;
  return {
    Addr: cc.endpoint ? cc.endpoint : NOT_CONNECTED,
    CurrentFailureCount: failures,
    FailureCountThreshold: threshold,
    Status: failures >= threshold ? 'DOWN' : 'UP',
  };
}

/** The readiness report (upstream `PerformHealthCheck`). */
export function performHealthCheck(source: HealthSource | undefined, heartbeatFailureThreshold: number): StatusReport {
  if (source?.state !== 'RUNNING') return { OriginStatus: null, TargetStatus: null, Status: 'STARTUP' };
  const find = (c: ClusterName) => source.controlConnections.find((x) => x.cluster === c);
  const origin = controlConnStatus(find('ORIGIN'), heartbeatFailureThreshold);
  const target = controlConnStatus(find('TARGET'), heartbeatFailureThreshold);
  const report: StatusReport = {
    OriginStatus: origin,
    TargetStatus: target,
    Status: origin.Status === 'UP' && target.Status === 'UP' ? 'UP' : 'DOWN',
  };
  if (source.journal) report.Journal = source.journal();
  if (source.workers) {
    report.Workers = { Expected: source.workers.expected, Running: source.workers.running };
    if (source.workers.running < source.workers.expected) report.Status = 'DOWN';
  }
  return report;
}

/** GET /health/readiness: JSON report, 200 when UP else 503. */
export function readinessResponse(source: HealthSource | undefined, heartbeatFailureThreshold: number): HealthResponse {
  const report = performHealthCheck(source, heartbeatFailureThreshold);
  return {
    statusCode: report.Status === 'UP' ? 200 : 503,
    contentType: 'application/json',
    body: JSON.stringify(report),
  };
}

/** /health/liveness: always 200 `OK` (any method, even during startup). */
export function livenessResponse(): HealthResponse {
  return { statusCode: 200, contentType: 'text/plain; charset=utf-8', body: 'OK' };
}
