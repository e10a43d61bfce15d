// Plain-number metric series published at scrape time (no prom-client call per update), exported exactly as
// prom-client 15's own children would be. Relies on prom-client 15.1's Histogram internals (`getForPromString`,
// `aggregator`): package.json pins prom-client to that minor version.
import { Histogram, type HistogramConfiguration } from 'prom-client';

export interface CounterChild {
  inc(value?: number): void;
}
export interface GaugeChild {
  inc(value?: number): void;
  dec(value?: number): void;
}
export interface HistogramChild {
  observe(value: number): void;
}

/**
 * One series of a PlainHistogram: per-bucket counts (not cumulative), sum and count in plain numbers.
 * `observe` is what prom-client's child does (same bucket choice, same summation order), minus the label
 * validation and hashing it repeats on every call.
 */
export class HistogramSeries implements HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

/**
 * A prom-client Histogram (same constructor, name/help/type/bucket validation, registration) whose series
 * are kept in plain numbers (`HistogramSeries`) and published only at scrape time: `getForPromString()` and
 * `get()` return exactly what prom-client 15's Histogram returns for the same observations (series in
 * creation order; cumulative `le` buckets, `+Inf`, `_sum`, `_count`). Series are created with `series()`;
 * the inherited `observe()`/`labels()` are not used (their values would not be exported).
 */
export class PlainHistogram<T extends string> extends Histogram<T> {
  private readonly plainSeries: HistogramSeries[] = [];
  private readonly bounds: readonly number[];
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(config: HistogramConfiguration<T> & { buckets: number[] }) {
    super(config);
    this.bounds = Object.freeze([...config.buckets]);
    this.metricName = config.name;
    this.metricHelp = config.help;
  }

  /** A new series (exported at 0 until observed); call once per label set and keep it. */
  series(labels: Record<T, string>): HistogramSeries {
    const s = new HistogramSeries(Object.freeze({ ...labels }) as Record<string, string>, this.bounds);
    this.plainSeries.push(s);
    return s;
  }

  private exportValues(): ExportedValue[] {
    const name = this.metricName;
    const bucketName = `${name}_bucket`;
    const out: ExportedValue[] = [];
    for (const s of this.plainSeries) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        out.push({ labels: { le: this.bounds[i]! }, sharedLabels: s.labels, value: acc, metricName: bucketName, exemplar: null });
      }
      out.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucketName, exemplar: null });
      out.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum`, exemplar: undefined });
      out.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count`, exemplar: undefined });
    }
    return out;
  }

  /** What the registry calls for the text exposition (prom-client 15 Histogram#getForPromString). */
  async getForPromString(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    values: ExportedValue[];
    aggregator: unknown;
  }> {
    const aggregator = (this as unknown as { aggregator: unknown }).aggregator;
    return { name: this.metricName, help: this.metricHelp, type: 'histogram', values: this.exportValues(), aggregator };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override async get(): Promise<any> {
    const data = await this.getForPromString();
    const values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return { ...data, values };
  }

  override reset(): void {
    super.reset();
    // also called by prom-client's Metric constructor, before this class's fields exist
    const series = this.plainSeries as HistogramSeries[] | undefined;
    if (series) for (const s of series) s.reset();
  }
}

/** A plain number read by a gauge's collect() at scrape time (no prom-client call per update). */
export class PlainGauge implements GaugeChild {
  value = 0;
  inc(v = 1): void {
    this.value += v;
  }
  dec(v = 1): void {
    this.value -= v;
  }
}
