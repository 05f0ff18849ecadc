import type { AnomalyEvent } from '../../shared/protocol/anomaly.ts';
import type { Symptom } from '../../shared/policy/policy.ts';
import type { ServiceAdapter } from './services/service.ts';

/** Is the symptom present now, and what shows it (the evidence every decision record carries). */
export interface SymptomReading {
  present: boolean;
  evidence: string;
  data?: Record<string, unknown>;
  /** An anomaly's correlation id, so remediation joins the anomaly's story. */
  corr?: string;
}

export interface SymptomSources {
  /** Failures among the last n results of a probe, and how many results exist. */
  probeWindow(name: string, n: number): { failures: number; seen: number; last?: string };
  services: ReadonlyMap<string, ServiceAdapter>;
  featureIndex(feature: string): number;
}

const OPS = {
  '>': (a: number, b: number) => a > b,
  '>=': (a: number, b: number) => a >= b,
  '<': (a: number, b: number) => a < b,
  '<=': (a: number, b: number) => a <= b,
} as const;

/** Recent samples kept to tell, for a condition first read now, how long it has held already. */
const MAX_HISTORY = 4096;
/** Conditions tracked at once (every metric rule of the policies seen); the least recently read go first. */
const MAX_CONDITIONS = 256;

/** One `feature op value` condition: since when it has held without a break (null: it does not hold now). */
interface Holding {
  i: number;
  op: keyof typeof OPS;
  value: number;
  since: number | null;
}

/**
 * Turns the agent's inputs (samples, probe results, anomaly events, service status) into
 * readings of a rule's symptom. Holds only what symptoms need: a short sample history and the
 * currently open anomalies.
 */
export class SymptomEvaluator {
  private readonly history: Array<{ ts: number; v: readonly number[] }> = [];
  /**
   * Each metric condition's current run, kept up to date sample by sample: "sustained for forSec"
   * is then O(1) to read, and holds for any forSec, not only as far back as the history reaches.
   */
  private readonly holding = new Map<string, Holding>();
  private readonly openAnomalies = new Map<string, AnomalyEvent>();

  constructor(private readonly src: SymptomSources) {}

  addSample(ts: number, v: readonly number[]): void {
    this.history.push({ ts, v });
    if (this.history.length > MAX_HISTORY) this.history.shift();
    for (const h of this.holding.values()) h.since = OPS[h.op](v[h.i]!, h.value) ? (h.since ?? ts) : null;
  }

  onAnomaly(e: AnomalyEvent): void {
    if (e.state === 'closed') this.openAnomalies.delete(e.anomalyId);
    else this.openAnomalies.set(e.anomalyId, e);
  }

  async read(s: Symptom, now: number, signal?: AbortSignal): Promise<SymptomReading> {
    switch (s.kind) {
      case 'probe_failing': {
        const w = this.src.probeWindow(s.probe, s.n);
        const present = w.seen >= s.k && w.failures >= s.k;
        return { present, evidence: `probe "${s.probe}" failed ${w.failures} of its last ${w.seen} runs (rule: ${s.k} of ${s.n})${w.last ? `; last: ${w.last}` : ''}`, data: { probe: s.probe, ...w } };
      }
      case 'process_down': {
        const svc = this.src.services.get(s.service);
        if (!svc) return { present: false, evidence: `service "${s.service}" is not managed here` };
        try {
          const st = await svc.status(signal);
          return { present: !st.running, evidence: `service "${s.service}": ${st.detail}`, data: { service: s.service, running: st.running, ...(st.pid ? { pid: st.pid } : {}) } };
        } catch (e) {
          // Cannot tell (no systemd, no Docker socket): not a symptom to act on.
          return { present: false, evidence: `service "${s.service}": status unavailable (${(e as Error).message})` };
        }
      }
      case 'metric':
        return this.metric(s, now);
      case 'anomaly': {
        const match = [...this.openAnomalies.values()].find((a) => s.topFeature === undefined || a.top[0]?.feature === s.topFeature);
        if (!match) return { present: false, evidence: s.topFeature ? `no open anomaly led by ${s.topFeature}` : 'no open anomaly' };
        const top = match.top.map((c) => `${c.feature}=${+c.value.toPrecision(4)} (normal ${+c.normalLow.toPrecision(3)}…${+c.normalHigh.toPrecision(3)})`).join(', ');
        return {
          present: true,
          evidence: `anomaly open since ${new Date(match.openedAt).toISOString()}: score ${+match.score.toPrecision(3)} over ${+match.threshold.toPrecision(3)}; top contributors ${top}`,
          data: { anomalyId: match.anomalyId, score: match.score, threshold: match.threshold, top: match.top, modelVersion: match.modelVersion },
          corr: match.correlationId,
        };
      }
    }
  }

  private metric(s: Extract<Symptom, { kind: 'metric' }>, now: number): SymptomReading {
    const i = this.src.featureIndex(s.feature);
    const latest = this.history.at(-1);
    const cond = `${s.feature} ${s.op} ${s.value} for ${s.forSec} s`;
    if (i < 0 || !latest) return { present: false, evidence: `${cond}: no samples yet` };
    const value = latest.v[i]!;
    const h = this.holdingOf(`${s.feature} ${s.op} ${s.value}`, i, s.op, s.value);
    if (h.since === null) return { present: false, evidence: `${cond}: now ${+value.toPrecision(4)}`, data: { feature: s.feature, value } };
    const present = h.since <= now - s.forSec * 1000;
    return { present, evidence: `${cond}: ${+value.toPrecision(4)} now, holding for ${Math.round((latest.ts - h.since) / 1000)} s`, data: { feature: s.feature, value } };
  }

  /** The condition's run; the first time it is read, how long it has held is found in the history. */
  private holdingOf(key: string, i: number, op: keyof typeof OPS, value: number): Holding {
    let h = this.holding.get(key);
    if (h) {
      // Re-inserted: the map's order is then least recently read first.
      this.holding.delete(key);
      this.holding.set(key, h);
      return h;
    }
    let since: number | null = null;
    for (let k = this.history.length - 1; k >= 0 && OPS[op](this.history[k]!.v[i]!, value); k--) since = this.history[k]!.ts;
    h = { i, op, value, since };
    this.holding.set(key, h);
    if (this.holding.size > MAX_CONDITIONS) this.holding.delete(this.holding.keys().next().value!);
    return h;
  }
}
