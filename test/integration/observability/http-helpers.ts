// Helpers for the metrics/health integration tests (observability, dual reads): the proxy's HTTP
// server address, plain HTTP GETs, a tiny Prometheus text-format parser and polling.
import assert from 'node:assert/strict';
import http from 'node:http';

import type { TestProxy } from '../../support/proxy';

export interface HttpReply {
  status: number;
  body: string;
  contentType: string | undefined;
}

/**
 * The port of the proxy's metrics/health HTTP server. Prefers what startProxy returns (several
 * spellings are accepted, so this keeps working whatever name the wiring picks), else the
 * `metrics_port` the test proxy was configured with (startTestProxy gives each proxy a free one).
 */
export function metricsPort(proxy: TestProxy): number {
  const h = proxy.handle as unknown as Record<string, unknown> | undefined;
  const candidates: unknown[] = [
    h?.['metricsPort'],
    h?.['httpPort'],
    (h?.['http'] as { port?: unknown } | undefined)?.port,
    (h?.['httpServer'] as { port?: unknown } | undefined)?.port,
  ];
  for (const c of candidates) if (typeof c === 'number' && c > 0) return c;
  const p = Number(proxy.env['ZDM_METRICS_PORT']);
  assert.ok(p > 0, 'the test proxy has no metrics port');
  return p;
}

/** GET (or another method) http://127.0.0.1:<metrics port><path>; rejects with a clear message when nothing listens. */
export function httpGet(proxy: TestProxy, path: string, method = 'GET', timeoutMs = 5000): Promise<HttpReply> {
  const port = metricsPort(proxy);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} on 127.0.0.1:${port}: no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new Error(
          `${method} http://127.0.0.1:${port}${path} failed (${e.code ?? e.message}): ` +
            'is the metrics/health HTTP server started by startProxy (metrics_address/metrics_port)?',
        ),
      );
    });
    req.end();
  });
}

/** POST /api/v1/routing with a JSON body (and `Authorization: Bearer <token>` when a token is given); the reply's JSON. */
export function postRouting(
  proxy: TestProxy,
  body: unknown,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
    const req = http.request(
      { host: '127.0.0.1', port: metricsPort(proxy), path: '/api/v1/routing', method: 'POST', headers, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition format (samples only; HELP/TYPE lines skipped). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l: RegExpExecArray | null;
      while ((l = re.exec(m[3])) !== null) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    const v = m[4]!;
    out.push({ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return out;
}

export class Scrape {
  readonly samples: Sample[];
  constructor(readonly text: string) {
    this.samples = parsePrometheus(text);
  }
  /** Sum of the samples named `name` whose labels include `labels` (0 when there is none). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.matching(name, labels).reduce((s, x) => s + x.value, 0);
  }
  matching(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }
  has(name: string): boolean {
    return this.samples.some((s) => s.name === name) || this.text.includes(`# TYPE ${name} `);
  }
  /** Names of all families (from TYPE lines and samples). */
  names(): Set<string> {
    const s = new Set(this.samples.map((x) => x.name));
    for (const m of this.text.matchAll(/^# TYPE (\S+) /gm)) s.add(m[1]!);
    return s;
  }
}

/** GET /metrics, asserting 200. */
export async function scrape(proxy: TestProxy): Promise<Scrape> {
  const r = await httpGet(proxy, '/metrics');
  assert.equal(r.status, 200, `/metrics answered ${r.status}: ${r.body.slice(0, 200)}`);
  return new Scrape(r.body);
}

/** The one shared waitFor (test/support/wait.ts), re-exported for the tests that import it from here. */
export { waitFor } from '../../support/wait';
