import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnomalyEvent } from '../shared/protocol/anomaly.ts';
import { Counters } from '../shared/observe/counters.ts';
import { createLogger, type Logger } from '../shared/observe/log.ts';
import { encode } from '../shared/protocol/codec.ts';
import { newMessageId } from '../shared/protocol/ids.ts';
import type { EventBody, StatusBody } from '../shared/protocol/messages.ts';
import { Router } from '../shared/protocol/router.ts';
import { HOMEOSTAT_VERSION } from '../shared/version.ts';
import type { AgentConfig } from './config.ts';
import { DEFAULT_BASE_MODEL_PATH, Detector } from './detect/detector.ts';
import { resolveAgentId } from './identity.ts';
import { Link } from './link/link.ts';
import { TelemetryWindow } from './link/telemetry.ts';
import { FEATURE_NAMES, FEATURE_VERSION } from './sense/features.ts';
import { Sampler, type SamplerOptions } from './sense/sampler.ts';
import { AgentStore } from './store/store.ts';

export interface AgentOptions {
  log?: Logger;
  /** Tests replace the real sampler (e.g. to run many agents without sampling the host each). */
  sampling?: boolean;
  sampler?: Partial<SamplerOptions>;
}

/** The shipped base model: beside the bundle in dist/, or in models/base/ when run from source. */
function baseModelPath(): string {
  const besideBundle = join(dirname(fileURLToPath(import.meta.url)), 'homeostat-base-v1.onnx');
  return existsSync(besideBundle) ? besideBundle : DEFAULT_BASE_MODEL_PATH;
}

function anomalySummary(e: AnomalyEvent): string {
  const top = e.top.map((c) => `${c.feature}=${+c.value.toPrecision(4)} (normal ${+c.normalLow.toPrecision(3)}…${+c.normalHigh.toPrecision(3)})`).join(', ');
  return `anomaly ${e.state}: score ${+e.score.toPrecision(3)} over threshold ${+e.threshold.toPrecision(3)}; top: ${top}`;
}

/** Flattens counters to `name{k="v"}` keys, the shape telemetry carries and Prometheus users read. */
function flatCounters(c: Counters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, series] of Object.entries(c.snapshot())) {
    for (const { labels, value } of series) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
      out[l ? `${name}{${l}}` : name] = value;
    }
  }
  return out;
}

/**
 * One agent process: sense → store → link. Each part is a lifecycle unit; a part that fails at
 * runtime logs and counts, it does not take the others down.
 */
export class Agent {
  readonly counters = new Counters();
  log: Logger;
  id = '';
  store!: AgentStore;
  private link!: Link;
  private router!: Router;
  private sampler: Sampler | null = null;
  detector: Detector | null = null;
  private window!: TelemetryWindow;
  private telemetryTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private lastSample: { ts: number; v: number[] } | null = null;

  constructor(
    readonly config: AgentConfig,
    private readonly opts: AgentOptions = {},
  ) {
    this.log = opts.log ?? createLogger('agent');
  }

  async start(): Promise<void> {
    const c = this.config;
    this.startedAt = Date.now();
    this.id = resolveAgentId(c.dataDir, c.id);
    this.log = this.log.child({ agent: this.id });
    this.counters.define('homeostat_events_emitted_total', 'Events this agent queued, by type');
    this.counters.define('homeostat_sample_store_errors_total', 'Samples that could not be written to sqlite (disk full, I/O)');
    this.store = new AgentStore(join(c.dataDir, 'agent.db'), c.store, this.counters);
    this.router = new Router(this.log, this.counters);
    this.router.on('cmd', async (msg) => {
      const reply = (body: Parameters<typeof encode<'reply'>>[1]['body']) =>
        this.link.publishDirect(encode('reply', { from: this.id, agentId: this.id, corr: msg.id, body }));
      if (msg.body.command === 'ping') await reply({ ok: true, result: { pong: true, version: HOMEOSTAT_VERSION, uptimeSec: Math.round((Date.now() - this.startedAt) / 1000) } });
      else {
        await this.link.republishStatus();
        await reply({ ok: true, result: { status: this.status() } });
      }
    });
    this.link = new Link({
      url: c.broker.url,
      agentId: this.id,
      username: c.broker.username,
      password: c.broker.password,
      backoff: c.broker.backoff,
      status: () => this.status(),
      store: this.store,
      router: this.router,
      log: this.log,
      counters: this.counters,
    });
    this.window = new TelemetryWindow(FEATURE_NAMES);
    if (c.detect.enabled) {
      const { enabled: _, ...detectConfig } = c.detect;
      this.detector = new Detector({
        expect: { featureNames: [...FEATURE_NAMES], featureVersion: FEATURE_VERSION },
        config: detectConfig,
        baseModelPath: baseModelPath(),
        log: this.log.child({ part: 'detect' }),
        counters: this.counters,
        onAnomaly: (e) => this.onAnomaly(e),
      });
      // A model that cannot load leaves the detector in `no-model` (logged, counted); the agent runs on.
      await this.detector.start();
    }
    if (this.opts.sampling !== false) {
      this.sampler = new Sampler({ intervalMs: c.sampling.intervalMs, log: this.log, counters: this.counters, ...this.opts.sampler });
      this.sampler.onSample((s) => this.onSample(s.ts, s.v));
      this.sampler.start();
    }
    // The first summary goes out after 2 s, so a new node shows live metrics at once; then every interval.
    this.telemetryTimer = setTimeout(() => {
      this.flushTelemetry();
      this.telemetryTimer = setInterval(() => this.flushTelemetry(), c.telemetry.intervalSec * 1000);
      this.telemetryTimer.unref();
    }, Math.min(2, c.telemetry.intervalSec) * 1000);
    this.telemetryTimer.unref();
    await this.link.start();
    this.log.info({ id: this.id, broker: c.broker.url, dataDir: c.dataDir }, 'agent started');
  }

  async stop(): Promise<void> {
    if (this.telemetryTimer) clearTimeout(this.telemetryTimer);
    this.telemetryTimer = null;
    this.sampler?.stop();
    await this.detector?.stop();
    await this.link?.stop();
    this.store?.close();
    this.log.info('agent stopped');
  }

  /**
   * Queues an event for the coordinator: written to sqlite (events + outbox) before anything is
   * sent. Returns the message id. Throws OutboxFullError at the outbox limit (counted).
   */
  emitEvent(body: EventBody, corr?: string): string {
    const ts = Date.now();
    const id = newMessageId(ts);
    const out = encode('events', { from: this.id, agentId: this.id, id, corr: corr ?? id, ts, body });
    this.store.enqueueEvent(out, ts, corr ?? id, body);
    this.counters.inc('homeostat_events_emitted_total', { type: body.type });
    this.link.kick();
    return id;
  }

  get latestSample(): { ts: number; v: number[] } | null {
    return this.lastSample;
  }

  private onAnomaly(e: AnomalyEvent): void {
    try {
      this.emitEvent({ type: 'anomaly', severity: e.state === 'closed' ? 'info' : 'warning', summary: anomalySummary(e), data: e }, e.correlationId);
      // Training skips what the detector judged anomalous.
      if (e.state === 'closed') this.store.markAnomalous(e.openedAt, e.closedAt!);
    } catch (err) {
      this.log.error({ err: (err as Error).message, anomaly: e.anomalyId }, 'could not record anomaly event');
    }
  }

  private onSample(ts: number, v: number[]): void {
    this.lastSample = { ts, v };
    this.window.add(ts, v);
    this.detector?.push({ ts, v });
    try {
      this.store.insertSample(ts, FEATURE_VERSION, v);
    } catch (e) {
      this.counters.inc('homeostat_sample_store_errors_total');
      this.log.error({ err: (e as Error).message }, 'could not store sample; sampling continues');
    }
  }

  private flushTelemetry(): void {
    const summary = this.window.take();
    if (!summary) return;
    const s = this.sampler?.stats();
    try {
      const out = encode('telemetry', {
        from: this.id,
        agentId: this.id,
        body: {
          ...summary,
          featureVersion: FEATURE_VERSION,
          sampler: { ticks: s?.ticks ?? 0, skipped: s?.skipped ?? 0, errors: s?.errors ?? 0, tickMsMax: s?.tickMsMax ?? 0 },
          outbox: { events: this.store.count('event'), telemetry: this.store.count('telemetry') },
          counters: flatCounters(this.counters),
        },
      });
      this.store.enqueueTelemetry(out, summary.to);
      this.link.kick();
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'could not queue telemetry');
    }
  }

  private status(): Omit<StatusBody, 'state' | 'reason'> {
    return {
      agentVersion: HOMEOSTAT_VERSION,
      featureVersion: FEATURE_VERSION,
      modelVersion: this.detector?.status().modelVersion ?? null,
      policyVersion: null,
      cohort: this.config.cohort,
      host: { hostname: os.hostname(), platform: process.platform, arch: process.arch, cores: os.cpus().length || 1 },
      startedAt: this.startedAt,
    };
  }
}
