// Counters, gauges and histograms for /metrics (Prometheus text format). One registry per node.
export type Labels = Record<string, string>;

const labelsText = (labels: Labels) => Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',');
const key = (name: string, labels?: Labels) => (labels && Object.keys(labels).length ? `${name}{${labelsText(labels)}}` : name);

/** Default latency buckets, in milliseconds. */
export const LATENCY_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

interface Histogram {
  readonly labels: string;
  readonly counts: number[];
  sum: number;
  count: number;
}

interface Family {
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  values: Map<string, number>;
  buckets?: number[];
  /** Histograms by their label set (the rendered `k="v",...`, '' for none). */
  histograms?: Map<string, Histogram>;
  /** A value kept outside the registry, read when /metrics is rendered (a gauge, or a process total). */
  read?: () => number;
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  private family(name: string, type: Family['type'], help: string, buckets?: number[]): Family {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = { type, help, values: new Map(), buckets }));
    return f;
  }

  inc(name: string, help: string, labels?: Labels, by = 1): void {
    const f = this.family(name, 'counter', help);
    const k = key(name, labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
  }

  /** A gauge read when /metrics is rendered. */
  gauge(name: string, help: string, read: () => number): void {
    this.family(name, 'gauge', help).read = read;
  }

  /** A counter kept elsewhere (a total the process keeps, such as its CPU time), read when /metrics is rendered. */
  counterRead(name: string, help: string, read: () => number): void {
    this.family(name, 'counter', help).read = read;
  }

  /** One observation of a histogram (a latency in ms by default), optionally by labels (e.g. command). */
  observe(name: string, help: string, value: number, labels?: Labels, buckets = LATENCY_BUCKETS_MS): void {
    const f = this.family(name, 'histogram', help, buckets);
    const labelText = labels ? labelsText(labels) : '';
    f.histograms ??= new Map();
    let h = f.histograms.get(labelText);
    if (!h) f.histograms.set(labelText, (h = { labels: labelText, counts: new Array<number>(f.buckets!.length).fill(0), sum: 0, count: 0 }));
    const bounds = f.buckets!;
    for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) h.counts[i]!++;
    h.sum += value;
    h.count++;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, f] of this.families) {
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      if (f.read) lines.push(`${name} ${f.read()}`);
      for (const [k, v] of f.values) lines.push(`${k} ${v}`);
      for (const h of f.histograms?.values() ?? []) {
        const sep = h.labels ? ',' : '';
        f.buckets!.forEach((b, i) => lines.push(`${name}_bucket{${h.labels}${sep}le="${b}"} ${h.counts[i]}`));
        lines.push(`${name}_bucket{${h.labels}${sep}le="+Inf"} ${h.count}`);
        const suffix = h.labels ? `{${h.labels}}` : '';
        lines.push(`${name}_sum${suffix} ${h.sum}`, `${name}_count${suffix} ${h.count}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}
