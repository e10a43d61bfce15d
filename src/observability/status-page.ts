// Status page (extension): `GET /` on the metrics port. One server-rendered HTML page, inline CSS, no script,
// no external asset; it reloads itself every few seconds. It shows both clusters (health, control endpoint,
// hosts), request and error rates and latency percentiles per cluster, the current routing and where it came
// from, dual-read comparisons per table (when the proxy records `<prefix>_dual_read_comparisons_total`) and
// the one-sided write journal.
//
// Figures come from the proxy's own Prometheus exposition (what /metrics serves), sampled every
// `intervalMs` by `MetricsSampler`: rates and percentiles are over the last minute of samples.
import type { ClusterName } from '../cluster';
import type { ProxyMetrics } from './metrics';
import type { RoutingSettings } from '../routing/settings';

export interface HostStatus {
  address: string;
  port: number;
  datacenter: string;
  rack: string;
  releaseVersion?: string;
}

export interface ClusterStatus {
  cluster: ClusterName;
  /** cluster_name of system.local */
  name: string;
  /** current control endpoint, undefined when not connected */
  endpoint?: string;
  consecutiveFailures: number;
  hosts: readonly HostStatus[];
}

export interface JournalStatus {
  dir: string;
  bytes: number;
  maxBytes: number;
  records: number;
  full: boolean;
  dropped: number;
}

/** What the proxy shows on the page (read at each request). */
export interface StatusSource {
  clusters(): readonly ClusterStatus[];
  /** undefined: the journal is off */
  journal?(): JournalStatus | undefined;
  /** proxy_workers > 1: worker processes configured and serving (shown in the Proxy section) */
  workers?(): { expected: number; running: number };
  /** Called before each page render (proxy_workers > 1: the primary asks the workers for their state). */
  refresh?(): Promise<void>;
}

/** What /metrics and the status page need from the metrics (ProxyMetrics, or the primary's sum over its workers). */
export type MetricsExposition = Pick<ProxyMetrics, 'enabled' | 'closed' | 'prefix' | 'contentType' | 'metricsText'>;

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition -> samples (HELP/TYPE lines skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l: RegExpExecArray | null;
      while ((l = re.exec(m[2])) !== null) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    const v = m[3]!;
    out.push({ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return out;
}

interface Snapshot {
  at: number;
  samples: Sample[];
}

function sum(s: Snapshot | undefined, name: string, filter: (l: Record<string, string>) => boolean = () => true): number {
  if (!s) return 0;
  let n = 0;
  for (const x of s.samples) if (x.name === name && filter(x.labels) && Number.isFinite(x.value)) n += x.value;
  return n;
}

/** Cumulative bucket counts by upper bound, summed over every series of the histogram `name`. */
function buckets(s: Snapshot | undefined, name: string): Map<number, number> {
  const m = new Map<number, number>();
  if (!s) return m;
  for (const x of s.samples) {
    if (x.name !== `${name}_bucket`) continue;
    const le = x.labels['le'] === '+Inf' ? Infinity : Number(x.labels['le']);
    m.set(le, (m.get(le) ?? 0) + x.value);
  }
  return m;
}

/** Quantile q of the observations between two cumulative bucket maps (linear inside a bucket). */
export function quantile(q: number, now: Map<number, number>, then: Map<number, number> = new Map()): number | undefined {
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (now.get(b) ?? 0) - (then.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = counts[i]!;
    if (c >= rank) {
      const b = bounds[i]!;
      if (!Number.isFinite(b)) return prevBound; // above the last finite bucket
      const inBucket = c - prevCount;
      return inBucket > 0 ? prevBound + ((b - prevBound) * (rank - prevCount)) / inBucket : b;
    }
    prevBound = bounds[i]!;
    prevCount = c;
  }
  return prevBound;
}

/** Keeps the last minute of metric snapshots (one every intervalMs). */
export class MetricsSampler {
  private readonly snapshots: Snapshot[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly metrics: () => MetricsExposition | undefined,
    private readonly intervalMs = 5000,
    private readonly windowMs = 60_000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Take a snapshot now (also done at each page view); resolves the newest one. */
  async sample(): Promise<Snapshot | undefined> {
    const m = this.metrics();
    if (!m || m.closed || !m.enabled) {
      this.snapshots.length = 0;
      return undefined;
    }
    let text: string;
    try {
      text = await m.metricsText();
    } catch {
      return this.snapshots[this.snapshots.length - 1];
    }
    const s = { at: Date.now(), samples: parsePrometheusText(text) };
    this.snapshots.push(s);
    const oldest = s.at - this.windowMs - this.intervalMs;
    while (this.snapshots.length > 2 && this.snapshots[0]!.at < oldest) this.snapshots.shift();
    return s;
  }

  /** The newest snapshot and the oldest one of the window (undefined when there is only one). */
  window(): { now?: Snapshot; then?: Snapshot } {
    const n = this.snapshots.length;
    if (n === 0) return {};
    const now = this.snapshots[n - 1]!;
    const then = n > 1 ? this.snapshots[0]! : undefined;
    return { now, then: then && now.at - then.at >= 500 ? then : undefined };
  }
}

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function fmtRate(v: number | undefined): string {
  if (v === undefined) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
function fmtMs(seconds: number | undefined): string {
  if (seconds === undefined) return '–';
  const ms = seconds * 1000;
  return `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)} ms`;
}
function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export interface StatusPageInput {
  now: Date;
  version: string;
  refreshSeconds: number;
  routing: RoutingSettings | undefined;
  source: StatusSource | undefined;
  heartbeatFailureThreshold: number;
  /** metrics prefix; undefined = metrics disabled */
  prefix: string | undefined;
  window: { now?: Snapshot; then?: Snapshot };
}

/** The whole page. */
export function renderStatusPage(input: StatusPageInput): string {
  const { window: w, prefix } = input;
  const dt = w.now && w.then ? (w.now.at - w.then.at) / 1000 : undefined;
  const rate = (name: string, filter?: (l: Record<string, string>) => boolean): number | undefined =>
    dt === undefined ? undefined : Math.max(0, sum(w.now, name, filter) - sum(w.then, name, filter)) / dt;
  const p = (n: string) => `${prefix ?? 'zdm'}_${n}`;
  const parts: string[] = [];
  const routing = input.routing?.snapshot();
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${input.refreshSeconds}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ZDM proxy status</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
header{background:#1d2733;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:baseline}
header h1{font-size:18px;margin:0}header span{opacity:.75;font-size:12px}
main{padding:16px 24px;display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
section{background:#fff;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.12);padding:12px 16px}
section.wide{grid-column:1/-1}
h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:3px 8px 3px 0;border-bottom:1px solid #e6e9ed;font-variant-numeric:tabular-nums}
th{font-weight:600;color:#546272;font-size:12px}
.up{color:#0a7d32;font-weight:600}.down{color:#c62828;font-weight:600}.warn{color:#b26a00;font-weight:600}
.big{font-size:20px;font-weight:600}.muted{color:#7a8794}
</style></head><body>
<header><h1>ZDM proxy status</h1><span>version ${esc(input.version)} · ${esc(input.now.toISOString())} · refreshes every ${input.refreshSeconds} s</span></header>
<main>`);

  // routing
  if (routing) {
    parts.push(`<section><h2>Routing</h2><table>
<tr><th>primary cluster</th><td id="routing-primary" class="big">${esc(routing.primaryCluster)}</td></tr>
<tr><th>read mode</th><td id="routing-read-mode">${esc(routing.readMode)}</td></tr>
<tr><th>system queries</th><td>${esc(routing.systemQueriesMode)}</td></tr>
<tr><th>source</th><td id="routing-source">${esc(input.routing!.source)}${input.routing!.changedAt ? ` (changed ${esc(input.routing!.changedAt.toISOString())})` : ''}</td></tr>
</table></section>`);
  } else {
    parts.push(
      `<section><h2>Routing</h2><p class="warn">The proxy is starting: not connected to both clusters yet.</p></section>`,
    );
  }

  // worker processes (proxy_workers > 1)
  const workers = input.source?.workers?.();
  if (workers) {
    const all = workers.running === workers.expected;
    parts.push(`<section id="workers"><h2>Workers</h2><table>
<tr><th>worker processes serving / configured</th><td id="workers-running" class="${all ? 'up' : 'down'}">${workers.running} / ${workers.expected}</td></tr>
</table><p class="muted">proxy_workers = ${workers.expected}: figures on this page are summed over the workers.</p></section>`);
  }

  // traffic summary
  if (prefix !== undefined && w.now) {
    const inflight = sum(w.now, p('proxy_inflight_requests_total'));
    const conns = sum(w.now, p('client_connections_total'));
    parts.push(`<section><h2>Proxy</h2><table>
<tr><th>client connections</th><td id="client-connections">${conns}</td></tr>
<tr><th>requests in flight</th><td>${inflight}</td></tr>
<tr><th>reads / s (to Origin, to Target)</th><td>${fmtRate(rate(p('proxy_request_duration_seconds_count'), (l) => l['type'] === 'reads_origin'))}, ${fmtRate(rate(p('proxy_request_duration_seconds_count'), (l) => l['type'] === 'reads_target'))}</td></tr>
<tr><th>writes / s</th><td>${fmtRate(rate(p('proxy_request_duration_seconds_count'), (l) => l['type'] === 'writes'))}</td></tr>
<tr><th>failed writes (origin / target / both), total</th><td>${['origin', 'target', 'both'].map((f) => sum(w.now, p('proxy_failed_writes_total'), (l) => l['failed_on'] === f)).join(' / ')}</td></tr>
<tr><th>failed reads (origin / target), total</th><td>${['origin', 'target'].map((c) => sum(w.now, p('proxy_failed_reads_total'), (l) => l['cluster'] === c)).join(' / ')}</td></tr>
</table>${dt === undefined ? '<p class="muted">Rates appear after the next sample (every few seconds).</p>' : `<p class="muted">Rates and percentiles over the last ${Math.round(dt)} s.</p>`}</section>`);
  }

  // clusters
  const clusters = input.source?.clusters() ?? [];
  for (const c of clusters) {
    const lc = c.cluster.toLowerCase();
    const up = c.consecutiveFailures < input.heartbeatFailureThreshold && c.endpoint !== undefined;
    const reqName = p(`${lc}_request_duration_seconds`);
    const b = buckets(w.now, reqName);
    const bThen = buckets(w.then, reqName);
    const pct = (q: number) => (prefix === undefined ? undefined : quantile(q, b, w.then ? bThen : undefined));
    const reqRate = prefix === undefined ? undefined : rate(`${reqName}_count`);
    const errRate = prefix === undefined ? undefined : rate(p(`${lc}_requests_failed_total`));
    parts.push(`<section id="cluster-${lc}"><h2>${esc(c.cluster)}: <span class="cluster-name">${esc(c.name || '(unknown name)')}</span></h2><table>
<tr><th>health</th><td class="${up ? 'up' : 'down'}" id="${lc}-health">${up ? 'UP' : 'DOWN'}</td></tr>
<tr><th>control connection</th><td>${esc(c.endpoint ?? 'not connected')} (${c.consecutiveFailures} consecutive failure${c.consecutiveFailures === 1 ? '' : 's'})</td></tr>
<tr><th>requests / s</th><td id="${lc}-request-rate">${fmtRate(reqRate)}</td></tr>
<tr><th>errors / s</th><td id="${lc}-error-rate">${fmtRate(errRate)}</td></tr>
<tr><th>requests, total</th><td id="${lc}-requests-total">${prefix === undefined ? '–' : sum(w.now, `${reqName}_count`)}</td></tr>
<tr><th>latency p50 / p95 / p99</th><td id="${lc}-latency">${fmtMs(pct(0.5))} / ${fmtMs(pct(0.95))} / ${fmtMs(pct(0.99))}</td></tr>
</table>
<h2 style="margin-top:10px">Hosts (${c.hosts.length})</h2><table><tr><th>address</th><th>datacenter</th><th>rack</th><th>version</th></tr>
${c.hosts.map((h) => `<tr><td>${esc(`${h.address}:${h.port}`)}</td><td>${esc(h.datacenter)}</td><td>${esc(h.rack)}</td><td>${esc(h.releaseVersion ?? '')}</td></tr>`).join('\n')}
</table></section>`);
  }

  // dual-read comparison per table (recorded by the comparison feature when present)
  const cmpName = p('dual_read_comparisons_total');
  const cmp = new Map<string, Map<string, number>>();
  for (const x of w.now?.samples ?? []) {
    if (x.name !== cmpName) continue;
    const key = `${x.labels['keyspace'] ?? ''}.${x.labels['table'] ?? ''}`;
    const m = cmp.get(key) ?? new Map<string, number>();
    m.set(x.labels['result'] ?? '?', (m.get(x.labels['result'] ?? '?') ?? 0) + x.value);
    cmp.set(key, m);
  }
  const results = ['match', 'transient', 'confirmed', 'skipped', 'error'];
  parts.push(
    `<section class="wide" id="dual-read"><h2>Dual-read comparison per table</h2>${
      cmp.size === 0
        ? `<p class="muted">No comparison recorded${routing?.readMode === 'DUAL_ASYNC_ON_SECONDARY' ? ' yet' : ` (read_mode is ${esc(routing?.readMode ?? '?')})`}.</p>`
        : `<table><tr><th>table</th>${results.map((r) => `<th>${r}</th>`).join('')}</tr>${[...cmp.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(
              ([t, m]) =>
                `<tr><td>${esc(t)}</td>${results.map((r) => `<td${r === 'confirmed' && (m.get(r) ?? 0) > 0 ? ' class="down"' : ''}>${m.get(r) ?? 0}</td>`).join('')}</tr>`,
            )
            .join('\n')}</table>`
    }</section>`,
  );

  // journal
  const j = input.source?.journal?.();
  parts.push(
    `<section id="journal"><h2>One-sided write journal</h2>${
      j
        ? `<table>
<tr><th>state</th><td class="${j.full ? 'down' : 'up'}" id="journal-state">${j.full ? 'FULL: new one-sided writes are NOT journaled' : 'OK'}</td></tr>
<tr><th>size</th><td id="journal-bytes">${fmtBytes(j.bytes)} of ${fmtBytes(j.maxBytes)}</td></tr>
<tr><th>records</th><td id="journal-records">${j.records}</td></tr>
<tr><th>records dropped (journal full or failing)</th><td>${j.dropped}</td></tr>
<tr><th>directory</th><td>${esc(j.dir)}</td></tr></table>`
        : '<p class="muted">The journal is off (journal_dir is empty).</p>'
    }</section>`,
  );

  if (prefix === undefined)
    parts.push(
      '<section class="wide"><p class="warn">Metrics are disabled (metrics_enabled=false): no rates or latencies.</p></section>',
    );
  parts.push('</main></body></html>\n');
  return parts.join('\n');
}
