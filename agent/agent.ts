import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnomalyEvent } from '../shared/protocol/anomaly.ts';
import { Counters } from '../shared/observe/counters.ts';
import { createLogger, type Logger } from '../shared/observe/log.ts';
import { encode } from '../shared/protocol/codec.ts';
import { newMessageId } from '../shared/protocol/ids.ts';
import type { EventBody, PolicyBody, StatusBody } from '../shared/protocol/messages.ts';
import { Router } from '../shared/protocol/router.ts';
import { HOMEOSTAT_VERSION } from '../shared/version.ts';
import { fleetPublicKey, NO_FLEET_KEY_HINT, type AgentConfig } from './config.ts';
import { DEFAULT_BASE_MODEL_PATH, Detector } from './detect/detector.ts';
import { loadAcceptedPolicy, saveAcceptedPolicy } from './heal/policy-file.ts';
import { createHealing, type Healing } from './heal/setup.ts';
import { FleetLearning } from './learn/fleet-learning.ts';
import { LocalTuner } from './learn/local-tuning.ts';
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
  healing: Healing | null = null;
  tuner: LocalTuner | null = null;
  learning: FleetLearning | null = null;
  /** A refused policy version is reported once, not on every retained redelivery. */
  private lastRefusedPolicy = 0;
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
    // Commands, the pause switch and policies are obeyed only when the coordinator signed them.
    const fleetKey = fleetPublicKey(c.fleet);
    this.router.signers = fleetKey ? [fleetKey] : [];
    this.router.noSignersHint = NO_FLEET_KEY_HINT;
    if (!fleetKey) this.log.warn(`${NO_FLEET_KEY_HINT}; until then commands, the fleet pause switch and policies are refused`);
    this.router.on('cmd', (msg) => {
      // Never awaited inside a message handler: the broker's PUBACK for the reply arrives on this
      // same connection, whose incoming packets wait for this handler to finish (we acknowledge
      // after handling), so awaiting it here would stall every incoming packet until the timeout.
      const reply = (body: Parameters<typeof encode<'reply'>>[1]['body']): void => {
        this.link.publishDirect(encode('reply', { from: this.id, agentId: this.id, corr: msg.id, body })).catch((e: Error) => this.log.warn({ err: e.message, cmd: msg.body.command }, 'reply not delivered'));
      };
      const b = msg.body;
      if (b.command === 'ping') reply({ ok: true, result: { pong: true, version: HOMEOSTAT_VERSION, uptimeSec: Math.round((Date.now() - this.startedAt) / 1000) } });
      else if (b.command === 'status') {
        this.republishStatus();
        reply({ ok: true, result: { status: this.status(), heal: this.healing?.engine.snapshot() ?? null } });
      } else if (!this.healing) reply({ ok: false, error: 'healing is disabled on this agent (heal.enabled: false)' });
      else if (b.command === 'approve') {
        const found = this.healing.engine.answerApproval(b.corr, b.approved, b.by);
        reply(found ? { ok: true, result: { corr: b.corr, approved: b.approved } } : { ok: false, error: `no approval request is waiting with correlation id ${b.corr} (answered, timed out, or withdrawn)` });
      } else {
        const n = this.healing.engine.reset(b.by, b.ruleId);
        reply({ ok: true, result: { reset: n } });
      }
    });
    this.router.on('fleetControl', (msg) => {
      this.healing?.engine.setPaused(msg.body.paused, msg.body.by, msg.body.reason);
    });
    // Handlers only hand over: training and the acceptance test run in the background.
    this.router.on('rounds', (msg) => this.learning?.onRound(msg.body));
    this.router.on('model', (msg) => this.learning?.onModel(msg.body));
    this.router.on('policy', async (msg) => {
      await this.onPolicy(msg.body);
    });
    this.counters.define('homeostat_policy_updates_total', 'Coordinator policies received, by result (applied, refused, stale)');
    this.link = new Link({
      url: c.broker.url,
      agentId: this.id,
      cohort: c.cohort,
      username: c.broker.username,
      password: c.broker.password,
      backoff: c.broker.backoff,
      status: () => this.status(),
      store: this.store,
      router: this.router,
      log: this.log,
      counters: this.counters,
    });
    if (c.heal.enabled) {
      this.healing = createHealing({
        heal: c.heal,
        features: FEATURE_NAMES,
        store: this.store,
        emit: (body, corr) => {
          this.emitEvent(body, corr);
        },
        log: this.log.child({ part: 'heal' }),
        counters: this.counters,
      });
      const saved = loadAcceptedPolicy(c.dataDir, (why) => this.log.error({ why }, 'saved coordinator policy unreadable; running the local policy until the coordinator sends one'));
      if (saved) this.healing.engine.setPolicy({ ...saved.policy, version: saved.version }, `saved copy of coordinator policy v${saved.version}`);
      await this.healing.start();
    }
    this.window = new TelemetryWindow(FEATURE_NAMES);
    if (c.detect.enabled) {
      const { enabled: _, tuning, ...detectConfig } = c.detect;
      const modelDir = join(c.dataDir, 'models');
      this.detector = new Detector({
        learnedModelPath: join(modelDir, 'current.onnx'),
        expect: { featureNames: [...FEATURE_NAMES], featureVersion: FEATURE_VERSION },
        config: detectConfig,
        baseModelPath: baseModelPath(),
        log: this.log.child({ part: 'detect' }),
        counters: this.counters,
        onAnomaly: (e) => this.onAnomaly(e),
      });
      // A model that cannot load leaves the detector in `no-model` (logged, counted); the agent runs on.
      await this.detector.start();
      if (tuning.enabled) {
        this.tuner = new LocalTuner({
          config: tuning,
          store: this.store,
          detector: this.detector,
          featureVersion: FEATURE_VERSION,
          modelDir,
          emit: (body) => {
            this.emitEvent(body);
          },
          log: this.log.child({ part: 'learn' }),
          counters: this.counters,
        });
        this.tuner.start();
      }
    }
    this.learning = new FleetLearning({
      agentId: this.id,
      config: c.learn,
      expect: { featureNames: [...FEATURE_NAMES], featureVersion: FEATURE_VERSION },
      store: this.store,
      host: this.detector,
      modelDir: join(c.dataDir, 'models'),
      publish: (out) => this.link.publishDirect(out),
      emit: (body) => {
        this.emitEvent(body);
      },
      // The status names the model in service: the coordinator's registry shows the fleet's version.
      onSwapped: () => this.republishStatus(),
      log: this.log.child({ part: 'learn' }),
      counters: this.counters,
    });
    this.learning.start();
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
    await this.healing?.stop();
    await this.tuner?.stop();
    await this.learning?.stop();
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

  /**
   * A coordinator policy: applied only when newer than the one in force (a replayed older
   * version is refused: no rollback), and only whole (the engine checks schema and ceiling).
   */
  private async onPolicy(body: PolicyBody): Promise<void> {
    const engine = this.healing?.engine;
    if (!engine) {
      this.counters.inc('homeostat_policy_updates_total', { result: 'refused' });
      this.log.warn({ version: body.version }, 'policy received but healing is disabled here (heal.enabled: false): ignored');
      return;
    }
    if (body.version <= engine.policyVersion || body.version === this.lastRefusedPolicy) {
      if (body.version < engine.policyVersion) {
        this.counters.inc('homeostat_policy_updates_total', { result: 'stale' });
        this.log.warn({ version: body.version, current: engine.policyVersion }, 'policy older than the one in force refused (no rollback)');
      }
      return;
    }
    const r = engine.setPolicy({ ...body.policy, version: body.version }, `coordinator (author ${body.author})`);
    this.counters.inc('homeostat_policy_updates_total', { result: r.ok ? 'applied' : 'refused' });
    if (!r.ok) {
      this.lastRefusedPolicy = body.version;
      return;
    }
    try {
      saveAcceptedPolicy(this.config.dataDir, body);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'could not save the accepted policy; it is in force until restart');
    }
    this.republishStatus();
  }

  /** Fire and forget, for the same reason as replies: callers run inside message handlers. */
  private republishStatus(): void {
    this.link.republishStatus().catch((e: Error) => this.log.warn({ err: e.message }, 'status not republished'));
  }

  private onAnomaly(e: AnomalyEvent): void {
    this.healing?.symptoms.onAnomaly(e);
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
    this.healing?.symptoms.addSample(ts, v);
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
      policyVersion: this.healing?.engine.policyVersion ?? null,
      cohort: this.config.cohort,
      host: { hostname: os.hostname(), platform: process.platform, arch: process.arch, cores: os.cpus().length || 1 },
      startedAt: this.startedAt,
    };
  }
}
