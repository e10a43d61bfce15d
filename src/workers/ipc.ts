// proxy_workers > 1: the messages between the primary process and its workers (node:cluster IPC, JSON).
//
//   primary -> worker   { zdm: 'req', id, op, routing? }    ask: metrics | health | status | mismatches | routing (apply)
//                       { zdm: 'shutdown' }                 drain and exit 0 (SIGINT/SIGTERM of the primary)
//                       { zdm: 'reload-tls' }               SIGHUP of the primary
//   worker -> primary   { zdm: 'res', id, ok, data?, error? }
//                       { zdm: 'state', state }             RUNNING once its listener is open
//
// A worker is given its slot and the routing of the moment in its environment (WORKER_*_ENV) when forked.
import type { RoutingSettingsValues } from '../routing/settings';
import type { StatusReport } from '../observability/health';
import type { ClusterStatus, JournalStatus } from '../observability/status-page';

/** Environment variable carrying the worker's slot (1..N), stable across restarts of that slot. */
export const WORKER_INDEX_ENV = 'ZDM_PROXY_WORKER_INDEX';
/** Environment variable carrying the primary's current routing (JSON RoutingSettingsValues). */
export const WORKER_ROUTING_ENV = 'ZDM_PROXY_WORKER_ROUTING';

export type RequestOp = 'metrics' | 'health' | 'status' | 'mismatches' | 'routing';

export interface WorkerRequest {
  zdm: 'req';
  id: number;
  op: RequestOp;
  routing?: RoutingSettingsValues;
}

export interface WorkerResponse {
  zdm: 'res';
  id: number;
  ok: boolean;
  data?: unknown;
  error?: string;
}

export type PrimaryMessage = WorkerRequest | { zdm: 'shutdown' } | { zdm: 'reload-tls' };
export type WorkerMessage = WorkerResponse | { zdm: 'state'; state: 'RUNNING' };

/** What a worker answers to 'status'. */
export interface WorkerStatus {
  clusters: ClusterStatus[];
  journal?: JournalStatus;
}

/** What a worker answers to 'health': its own readiness report. */
export type WorkerHealth = StatusReport;

export function isPrimaryMessage(m: unknown): m is PrimaryMessage {
  return typeof m === 'object' && m !== null && 'zdm' in m;
}

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && 'zdm' in m;
}
