// Counters, gauges and histograms for /metrics (Prometheus text format). One registry per node.
export type Labels = Record<string, string>;

const key = (name: string, labels?: Labels) =>
  labels && Object.keys(labels).length ? `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}` : name;

/** Default latency buckets, in milliseconds. */
export const LATENCY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

interface Family {
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  values: Map<string, number>;
  buckets?: number[];
  gauge?: () => number;
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
    this.family(name, 'gauge', help).gauge = read;
  }

  observe(name: string, help: string, value: number, buckets = LATENCY_BUCKETS_MS): void {
    const f = this.family(name, 'histogram', help, buckets);
    if (f.values.size === 0) for (const b of buckets) f.values.set(`${name}_bucket{le="${b}"}`, 0);
    for (const b of buckets) if (value <= b) f.values.set(`${name}_bucket{le="${b}"}`, (f.values.get(`${name}_bucket{le="${b}"}`) ?? 0) + 1);
    f.values.set(`${name}_bucket{le="+Inf"}`, (f.values.get(`${name}_bucket{le="+Inf"}`) ?? 0) + 1);
    f.values.set(`${name}_sum`, (f.values.get(`${name}_sum`) ?? 0) + value);
    f.values.set(`${name}_count`, (f.values.get(`${name}_count`) ?? 0) + 1);
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, f] of this.families) {
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      if (f.gauge) lines.push(`${name} ${f.gauge()}`);
      for (const [k, v] of f.values) lines.push(`${k} ${v}`);
    }
    return lines.join('\n') + '\n';
  }
}
