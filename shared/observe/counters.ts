/**
 * Labelled monotonic counters and gauges, rendered as Prometheus text (exposition format 0.0.4)
 * and as plain JSON for the API. Deliberately tiny: every process owns one registry and every
 * "rejected with a reason and a counter" in the brief lands here.
 */
export type Labels = Readonly<Record<string, string>>;

interface Series {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class Counters {
  private readonly series = new Map<string, Series>();

  /** Declares a series once; declaring again with the same name keeps the first help text. */
  define(name: string, help: string, type: 'counter' | 'gauge' = 'counter'): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name "${name}"`);
    if (!this.series.has(name)) this.series.set(name, { help, type, values: new Map() });
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const s = this.need(name);
    const key = labelKey(labels);
    const cur = s.values.get(key);
    if (cur) cur.value += by;
    else s.values.set(key, { labels: { ...labels }, value: by });
  }

  set(name: string, value: number, labels: Labels = {}): void {
    const s = this.need(name);
    s.values.set(labelKey(labels), { labels: { ...labels }, value });
  }

  get(name: string, labels: Labels = {}): number {
    return this.series.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  /** Sum over every label combination of one series. */
  total(name: string): number {
    let t = 0;
    for (const v of this.series.get(name)?.values.values() ?? []) t += v.value;
    return t;
  }

  /** `{ name: [{labels, value}] }`, for JSON APIs and telemetry. */
  snapshot(): Record<string, Array<{ labels: Labels; value: number }>> {
    const out: Record<string, Array<{ labels: Labels; value: number }>> = {};
    for (const [name, s] of this.series) out[name] = [...s.values.values()].map((v) => ({ labels: v.labels, value: v.value }));
    return out;
  }

  prometheus(): string {
    const lines: string[] = [];
    for (const [name, s] of this.series) {
      lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.type}`);
      if (s.values.size === 0 && s.type === 'counter') lines.push(`${name} 0`);
      for (const { labels, value } of s.values.values()) {
        const l = Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(',');
        lines.push(l ? `${name}{${l}} ${value}` : `${name} ${value}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  private need(name: string): Series {
    const s = this.series.get(name);
    if (!s) throw new Error(`metric "${name}" used before define()`);
    return s;
  }
}
