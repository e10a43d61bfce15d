// Status page pieces: the Prometheus text parser, histogram quantiles, and the rendered HTML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheusText, quantile, renderStatusPage } from '../../../src/observability/status-page';
import { RoutingSettings } from '../../../src/routing/settings';

test('quantile: linear inside the bucket, over the difference of two cumulative snapshots', () => {
  const now = new Map([
    [0.001, 0],
    [0.01, 50],
    [0.1, 100],
    [Infinity, 100],
  ]);
  assert.ok(Math.abs(quantile(0.5, now)! - 0.01) < 1e-12);
  assert.ok(Math.abs(quantile(0.75, now)! - 0.055) < 1e-9);
  assert.equal(quantile(0.5, now, now), undefined, 'no observation in the window');
  const then = new Map([
    [0.001, 0],
    [0.01, 50],
    [0.1, 50],
    [Infinity, 50],
  ]);
  assert.ok(quantile(0.5, now, then)! > 0.01, 'only the 50 new observations, all in (0.01, 0.1]');
  assert.equal(
    quantile(
      0.99,
      new Map([
        [0.1, 0],
        [Infinity, 4],
      ]),
    ),
    0.1,
    'above the last finite bucket: its bound',
  );
});

test('parsePrometheusText: labels with escapes, +Inf', () => {
  const s = parsePrometheusText('# HELP x y\nzdm_a{le="+Inf",k="a\\"b"} 3\nzdm_b 2.5\n');
  assert.deepEqual(s, [
    { name: 'zdm_a', labels: { le: '+Inf', k: 'a"b' }, value: 3 },
    { name: 'zdm_b', labels: {}, value: 2.5 },
  ]);
});

test('render: clusters, rates, comparison per table, journal; names are escaped', () => {
  const text = (reqs: number, cmp: number) =>
    [
      `zdm_origin_request_duration_seconds_bucket{node="h:9042",type="reads",le="0.01"} ${reqs}`,
      `zdm_origin_request_duration_seconds_bucket{node="h:9042",type="reads",le="+Inf"} ${reqs}`,
      `zdm_origin_request_duration_seconds_count{node="h:9042",type="reads"} ${reqs}`,
      `zdm_origin_requests_failed_total{node="h:9042",error="other"} 0`,
      `zdm_dual_read_comparisons_total{keyspace="ks",table="t",result="match"} ${cmp}`,
      `zdm_dual_read_comparisons_total{keyspace="ks",table="t",result="confirmed"} 2`,
    ].join('\n');
  const html = renderStatusPage({
    now: new Date(0),
    version: '1.2.3',
    refreshSeconds: 5,
    routing: new RoutingSettings(),
    heartbeatFailureThreshold: 1,
    prefix: 'zdm',
    source: {
      clusters: () => [
        {
          cluster: 'ORIGIN',
          name: '<Origin & co>',
          endpoint: 'h:9042',
          consecutiveFailures: 0,
          hosts: [{ address: 'h', port: 9042, datacenter: 'dc1', rack: 'r1' }],
        },
        { cluster: 'TARGET', name: 'T', endpoint: undefined, consecutiveFailures: 3, hosts: [] },
      ],
      journal: () => ({ dir: '/j', bytes: 2048, maxBytes: 4096, records: 7, full: true, dropped: 1 }),
    },
    window: {
      then: { at: 0, samples: parsePrometheusText(text(10, 1)) },
      now: { at: 10_000, samples: parsePrometheusText(text(110, 5)) },
    },
  });
  assert.match(html, /&lt;Origin &amp; co&gt;/);
  assert.doesNotMatch(html, /<Origin/);
  assert.match(html, /<meta http-equiv="refresh" content="5">/);
  assert.match(html, /id="origin-request-rate">10\.0</, '100 requests in 10 s');
  assert.match(html, /id="origin-health">UP</);
  assert.match(html, /id="target-health">DOWN</);
  assert.match(html, /<td>ks\.t<\/td><td>5<\/td><td>0<\/td><td class="down">2<\/td>/);
  assert.match(html, /id="journal-state">FULL/);
  assert.match(html, /id="journal-bytes">2\.0 KiB of 4\.0 KiB/);
  assert.doesNotMatch(html, /<script|https?:\/\//, 'no script, no external asset');
});
