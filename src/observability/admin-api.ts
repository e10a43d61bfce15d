// Admin API on the metrics port (extension, not upstream): live routing changes without a restart.
//
//   GET  /api/v1/routing   no token (like /metrics): {"primary_cluster","read_mode","system_queries_mode","source","changed_at"}
//   POST /api/v1/routing   `Authorization: Bearer <admin_token>`, JSON body {"primary_cluster"?, "read_mode"?}:
//                          applied through the proxy's one RoutingSettings object (new requests at once, requests
//                          in flight finish under the routing they were sent with). 200 with the new state;
//                          400 bad body (names what is wrong), 401 wrong/missing token (nothing changes),
//                          403 when admin_token is empty (the admin API is off), 503 before the proxy is up.
import { timingSafeEqual, createHash } from 'node:crypto';
import type http from 'node:http';
import type { Logger } from 'pino';
import type { RoutingSettings, RoutingSettingsValues } from '../routing/settings';

export const ROUTING_PATH = '/api/v1/routing';
/** Largest accepted request body (bytes). */
export const MAX_ADMIN_BODY = 4096;

export interface AdminApiOptions {
  /** admin_token; '' or undefined = admin API off (POST answers 403). */
  token?: string;
  /** The proxy's settings: undefined before the proxy is up. */
  routing: () => RoutingSettings | undefined;
  logger: Pick<Logger, 'warn' | 'info'>;
  /**
   * proxy_workers > 1: after each accepted POST, hand the (possibly unchanged) values to every worker; the answer
   * waits for it. A rejection (a worker did not acknowledge) answers 500 naming it; the change stays recorded.
   */
  broadcast?: (values: RoutingSettingsValues) => Promise<void>;
}

export interface RoutingState {
  primary_cluster: string;
  read_mode: string;
  system_queries_mode: string;
  source: 'config' | 'api';
  changed_at: string | null;
}

export function routingState(s: RoutingSettings): RoutingState {
  const v = s.snapshot();
  return {
    primary_cluster: v.primaryCluster,
    read_mode: v.readMode,
    system_queries_mode: v.systemQueriesMode,
    source: s.source,
    changed_at: s.changedAt ? s.changedAt.toISOString() : null,
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

/** Constant-time comparison of the presented bearer token with the configured one. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** Parse and check a POST body; throws an Error naming what is wrong. */
export function parseRoutingPatch(text: string): Partial<RoutingSettingsValues> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new Error(`the body is not JSON: ${(e as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('the body must be a JSON object');
  const patch: Partial<RoutingSettingsValues> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new Error(`${k} must be a string`);
    const value = v.trim().toUpperCase();
    if (k === 'primary_cluster') {
      if (value !== 'ORIGIN' && value !== 'TARGET')
        throw new Error(`invalid primary_cluster ${JSON.stringify(v)}: expected ORIGIN or TARGET`);
      patch.primaryCluster = value;
    } else if (k === 'read_mode') {
      if (value !== 'PRIMARY_ONLY' && value !== 'DUAL_ASYNC_ON_SECONDARY')
        throw new Error(`invalid read_mode ${JSON.stringify(v)}: expected PRIMARY_ONLY or DUAL_ASYNC_ON_SECONDARY`);
      patch.readMode = value;
    } else {
      throw new Error(`unknown field ${JSON.stringify(k)}: expected primary_cluster and/or read_mode`);
    }
  }
  if (patch.primaryCluster === undefined && patch.readMode === undefined)
    throw new Error('nothing to change: give primary_cluster and/or read_mode');
  return patch;
}

/** Handle a request to ROUTING_PATH (the caller matched the path). */
export function handleRoutingApi(req: http.IncomingMessage, res: http.ServerResponse, opts: AdminApiOptions): void {
  const settings = opts.routing();
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (!settings) return sendJson(res, 503, { error: 'the proxy is not running yet' });
    return sendJson(res, 200, routingState(settings));
  }
  if (req.method !== 'POST')
    return sendJson(res, 405, { error: `method ${req.method} not allowed: use GET or POST` }, { Allow: 'GET, POST' });
  const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  if (!opts.token) {
    req.resume();
    return sendJson(res, 403, { error: 'the admin API is off on this instance: set admin_token (ZDM_ADMIN_TOKEN) to enable it' });
  }
  if (!tokenMatches(req.headers.authorization, opts.token)) {
    req.resume();
    opts.logger.warn(`Admin API: routing change from ${remote} refused: missing or wrong bearer token`);
    return sendJson(res, 401, { error: 'missing or wrong bearer token' }, { 'WWW-Authenticate': 'Bearer realm="zdm-proxy"' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_ADMIN_BODY) tooLarge = true;
    else chunks.push(c);
  });
  req.on('error', () => res.destroy());
  req.on('end', () => {
    if (tooLarge) return sendJson(res, 413, { error: `the body is larger than ${MAX_ADMIN_BODY} bytes` });
    const s = opts.routing();
    if (!s) return sendJson(res, 503, { error: 'the proxy is not running yet' });
    let patch: Partial<RoutingSettingsValues>;
    try {
      patch = parseRoutingPatch(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      return sendJson(res, 400, { error: (e as Error).message });
    }
    const before = s.snapshot();
    const changed = s.set(patch, 'api');
    if (changed) {
      const after = s.snapshot();
      opts.logger.warn(
        `Admin API: routing changed by ${remote}: primary_cluster ${before.primaryCluster} -> ${after.primaryCluster}, ` +
          `read_mode ${before.readMode} -> ${after.readMode} (applies to new requests; requests in flight finish as routed)`,
      );
    }
    if (!opts.broadcast) return sendJson(res, 200, { ...routingState(s), changed });
    opts.broadcast(s.snapshot()).then(
      () => sendJson(res, 200, { ...routingState(s), changed }),
      (e: unknown) =>
        sendJson(res, 500, {
          error: `the change is recorded but not acknowledged by every worker: ${(e as Error).message}`,
          ...routingState(s),
          changed,
        }),
    );
  });
}
