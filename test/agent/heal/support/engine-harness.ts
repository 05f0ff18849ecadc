import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Action, ActionOutcome } from '../../../../shared/policy/actions.ts';
import { Counters } from '../../../../shared/observe/counters.ts';
import type { EventBody } from '../../../../shared/protocol/messages.ts';
import { newMessageId } from '../../../../shared/protocol/ids.ts';
import { HealConfigSchema, type HealConfig } from '../../../../agent/heal/config.ts';
import { HealEngine } from '../../../../agent/heal/engine.ts';
import type { ActionExecutor, ExecuteContext } from '../../../../agent/heal/executor.ts';
import { HealJournal } from '../../../../agent/heal/journal.ts';
import type { SymptomReading } from '../../../../agent/heal/symptoms.ts';
import { mulberry32 } from '../../../../agent/learn/rng.ts';
import { AgentStore } from '../../../../agent/store/store.ts';

/** An executor that records every call; tests script outcomes and target health. */
export class RecordingExecutor implements ActionExecutor {
  calls: Array<{ action: Action; dryRun: boolean; at: number }> = [];
  outcomeOk = true;
  healthy = true;
  /** Called at execute time, e.g. to check an invariant against the engine's state then. */
  onExecute: (a: Action, ctx: ExecuteContext) => void = () => {};
  constructor(private readonly now: () => number) {}
  execute(action: Action, ctx: ExecuteContext): Promise<ActionOutcome> {
    this.onExecute(action, ctx);
    this.calls.push({ action, dryRun: ctx.dryRun, at: this.now() });
    return Promise.resolve({ ok: this.outcomeOk, detail: ctx.dryRun ? 'would act' : this.outcomeOk ? 'done' : 'failed' });
  }
  targetState(): Promise<{ healthy: boolean; detail: string }> {
    return Promise.resolve({ healthy: this.healthy, detail: this.healthy ? 'healthy' : 'unhealthy' });
  }
  real(): number {
    return this.calls.filter((c) => !c.dryRun).length;
  }
}

export const FEATURES = ['cpu_user_pct', 'mem_used_pct'] as const;

/** A heal config allowing everything the tests' rules use. */
export function healConfig(policy: Record<string, unknown>, extra: Record<string, unknown> = {}): HealConfig {
  return HealConfigSchema.parse({
    services: [{ name: 'web', kind: 'command', argv: ['/bin/true'], pidfile: '/tmp/never-used.pid' }],
    probes: [{ name: 'web-http', kind: 'tcp', host: '127.0.0.1', port: 9 }],
    allow: { actions: ['restart_service', 'notify', 'run_command'], commands: { fix: ['/bin/true'] } },
    maxActionsPerHour: 1000,
    policy,
    ...extra,
  });
}

/** A real engine on a real sqlite file, with a manual clock, scripted symptoms and a recording executor. */
export class EngineHarness {
  t = 1_000_000;
  present = new Map<string, boolean>();
  events: Array<{ body: EventBody; corr: string }> = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'heal-engine-'));
  readonly counters = new Counters();
  store: AgentStore;
  executor = new RecordingExecutor(() => this.t);
  engine!: HealEngine;

  constructor(
    readonly heal: HealConfig,
    seed = 1,
  ) {
    this.store = new AgentStore(join(this.dir, 'agent.db'), { samples: { maxAgeHours: 1, maxRows: 1000 }, events: { maxRows: 1000 }, outbox: { maxEvents: 100_000, maxTelemetry: 10 } }, this.counters);
    this.engine = this.build(seed);
  }

  build(seed = 1): HealEngine {
    const store = this.store;
    return new HealEngine({
      heal: this.heal,
      features: FEATURES,
      executor: this.executor,
      symptoms: { read: (s) => Promise.resolve(this.reading(s)) },
      journal: new HealJournal(store.db),
      audit: (ts, kind, corr, rec) => store.audit(ts, kind, corr, rec),
      auditOf: (corr) => store.auditOf(corr),
      emit: (body, corr) => this.events.push({ body, corr }),
      newId: () => newMessageId(this.t),
      now: () => this.t,
      rand: mulberry32(seed),
      counters: this.counters,
    });
  }

  private reading(s: { kind: string } & Record<string, unknown>): SymptomReading {
    const key = s.kind === 'process_down' ? `down:${String(s.service)}` : s.kind === 'probe_failing' ? `probe:${String(s.probe)}` : s.kind;
    const present = this.present.get(key) ?? false;
    return { present, evidence: `${key} ${present ? 'present' : 'absent'}` };
  }

  /** Advance the clock and run one tick, letting started actions finish. */
  async step(ms: number): Promise<void> {
    this.t += ms;
    await this.engine.tick();
    await this.engine.idle();
  }

  async run(seconds: number, stepMs = 1000): Promise<void> {
    for (let i = 0; i < (seconds * 1000) / stepMs; i++) await this.step(stepMs);
  }

  decisions(kind?: string): Array<{ kind: string; record: Record<string, unknown> }> {
    return this.store
      .auditSince(0)
      .filter((r) => !kind || r.kind === kind)
      .map((r) => ({ kind: r.kind, record: r.record as Record<string, unknown> }));
  }

  close(): void {
    this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
