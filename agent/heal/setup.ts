import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import type { EventBody } from '../../shared/protocol/messages.ts';
import { newMessageId } from '../../shared/protocol/ids.ts';
import type { AgentStore } from '../store/store.ts';
import { LocalActionExecutor } from './actions/executor-impl.ts';
import type { HealConfig } from './config.ts';
import { HealEngine } from './engine.ts';
import { HealJournal } from './journal.ts';
import { ProbeScheduler } from './probes/scheduler.ts';
import { SymptomEvaluator } from './symptoms.ts';

export interface Healing {
  engine: HealEngine;
  probes: ProbeScheduler;
  symptoms: SymptomEvaluator;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds the heal part from the local config: probes, the executor bounded by the owner's
 * allow-lists, the symptom evaluator and the engine. Throws (a config error) when the owner's
 * own rules exceed the owner's own ceiling.
 */
export function createHealing(o: { heal: HealConfig; features: readonly string[]; store: AgentStore; emit: (body: EventBody, corr: string) => void; log: Logger; counters: Counters }): Healing {
  const { heal, store, log, counters } = o;
  const probes = new ProbeScheduler({ probes: heal.probes, log, counters });
  const executor = new LocalActionExecutor({
    services: heal.services,
    probes: heal.probes,
    commands: heal.allow.commands,
    cleanDirs: heal.allow.cleanDirs,
    kill: { neverKill: heal.allow.kill.neverKill, minTopCpuPct: heal.allow.kill.minTopCpuPct, maxRssPct: heal.allow.kill.maxRssPct },
    log,
    counters,
  });
  const symptoms = new SymptomEvaluator({
    probeWindow: (name, n) => {
      const w = probes.window(name, n);
      return { ...w, last: probes.last(name)?.detail };
    },
    services: executor.services,
    featureIndex: (f) => o.features.indexOf(f),
  });
  const engine = new HealEngine({
    heal,
    features: o.features,
    executor,
    symptoms,
    journal: new HealJournal(store.db),
    audit: (ts, kind, corr, rec) => store.audit(ts, kind, corr, rec),
    auditOf: (corr) => store.auditOf(corr),
    emit: o.emit,
    newId: () => newMessageId(),
    log,
    counters,
  });
  return {
    engine,
    probes,
    symptoms,
    async start() {
      probes.start();
      await engine.start();
    },
    async stop() {
      await engine.stop();
      probes.stop();
    },
  };
}
