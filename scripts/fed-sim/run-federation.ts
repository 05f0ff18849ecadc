import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelExpectation } from '../../agent/detect/model-file.ts';
import { loadCoordinatorConfig } from '../../coordinator/config.ts';
import { Coordinator } from '../../coordinator/coordinator.ts';
import type { StrategyName } from '../../coordinator/federation/config.ts';
import type { RoundRecord } from '../../coordinator/federation/round-store.ts';
import type { AutoencoderModel } from '../../models/autoencoder/spec.ts';
import type { SmdMachine } from '../../models/eval/smd.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import type { LocalTraining } from '../../shared/protocol/messages.ts';
import { localNormalisation, testFigures, withNormalisation, type MachineFigures } from './evaluate.ts';
import { startSimAgent, type Attack, type SimAgent } from './sim-agent.ts';

const TOKEN = 'fed-sim-admin-token-0123456789';

export interface RoundFigures {
  round: number;
  roundId: string;
  outcome: string;
  /** Best-F1 per machine of the global model after this round, each with its own normalisation. */
  f1: Record<string, number>;
  meanF1: number;
  /** Median score of normal test windows per machine (evaluate.ts: MachineFigures.normalError). */
  normalError: Record<string, number>;
  meanNormalError: number;
  /** HSU1 bytes each agent sent this round. */
  bytes: Record<string, number>;
  /** From the announcement to the close (all sampled agents reported, or the deadline). */
  durationMs: number;
  /** L2 norm of each honest agent's delta before clipping. */
  honestNorms: number[];
  /** Each agent's time from the announcement to its update sent (fine-tuning most of it). */
  agentMs: number[];
  note: string;
}

export interface FederationRun {
  strategy: StrategyName;
  poisoned: Record<string, Attack>;
  /** Index 0: the base model before any round. */
  meanF1: number[];
  /** Index 0: the base model before any round. */
  meanNormalError: number[];
  rounds: RoundFigures[];
  final: AutoencoderModel;
}

async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 600_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`fed-sim: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One model's figures on every machine, each machine with its own normalisation. */
export async function fleetFigures(model: AutoencoderModel, machines: SmdMachine[], norms: Map<string, { mean: Float32Array; std: Float32Array }>): Promise<Record<string, MachineFigures>> {
  // Sessions run concurrently: onnxruntime works on its own threads, so two cores are both used.
  const figs = await Promise.all(machines.map((m) => testFigures(withNormalisation(model, norms.get(m.name) ?? localNormalisation(m)), m)));
  return Object.fromEntries(machines.map((m, i) => [m.name, figs[i]!]));
}

/** Per machine, one of the figures. */
export const pick = (figs: Record<string, MachineFigures>, k: keyof MachineFigures): Record<string, number> => Object.fromEntries(Object.entries(figs).map(([name, f]) => [name, f[k]]));

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * One federation: a real coordinator (embedded aedes broker, sqlite, signing key) started on a
 * fresh data directory with `baseModelPath` as version 0, one simulated agent per machine over
 * real MQTT, and `rounds` rounds opened through the coordinator's HTTP API. After each round the
 * signed model the agents received is scored on every machine's test split.
 */
export async function runFederation(o: {
  machines: SmdMachine[];
  norms: Map<string, { mean: Float32Array; std: Float32Array }>;
  expect: ModelExpectation;
  baseModelPath: string;
  base?: Record<string, MachineFigures>;
  strategy: StrategyName;
  rounds: number;
  training: LocalTraining;
  clipNorm: number | null;
  minParticipants: number;
  trimBeta: number;
  poisoned?: Record<string, Attack>;
  onRound?: (r: RoundFigures) => void;
}): Promise<FederationRun> {
  const dir = mkdtempSync(join(tmpdir(), 'fed-sim-'));
  const config = loadCoordinatorConfig(undefined, {
    dataDir: join(dir, 'coordinator'),
    broker: { embedded: { host: '127.0.0.1', port: 0 } },
    api: { host: '127.0.0.1', port: 0, adminToken: TOKEN },
    federation: {
      strategy: o.strategy,
      trimBeta: o.trimBeta,
      minParticipants: o.minParticipants,
      sampleFraction: 1,
      deadlineSec: 900,
      training: o.training,
      clipNorm: o.clipNorm,
      noiseMultiplier: 0,
      quantization: 'f16',
      baseModelPath: o.baseModelPath,
    },
  });
  const coordinator = new Coordinator(config, { log: silentLogger, announceToken: () => undefined });
  const agents: SimAgent[] = [];
  const poisoned = o.poisoned ?? {};
  try {
    await coordinator.start();
    for (const m of o.machines) {
      agents.push(await startSimAgent({ id: m.name, url: coordinator.brokerUrl, publicKey: coordinator.keys.publicKey, expect: o.expect, train: m.train, ...(poisoned[m.name] ? { attack: poisoned[m.name] } : {}) }));
    }
    await waitFor(() => coordinator.store.agents().filter((a) => a.state === 'online').length === o.machines.length, 'every agent online');
    await waitFor(() => agents.every((a) => a.keeper.held()?.version === 0), 'the base model at every agent');
    const base = o.base ?? (await fleetFigures(agents[0]!.keeper.held()!.model, o.machines, o.norms));
    const meanF1 = [mean(Object.values(pick(base, 'f1')))];
    const meanNormalError = [mean(Object.values(pick(base, 'normalError')))];
    const rounds: RoundFigures[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      const res = await fetch(`${coordinator.apiAddress}/api/federation/rounds`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
      if (res.status !== 201) throw new Error(`fed-sim: round ${r} not started: ${res.status} ${await res.text()}`);
      const started = (await res.json()) as RoundRecord;
      const closed = await waitFor(() => {
        const x = coordinator.rounds.store.round(started.id);
        return x?.state === 'closed' ? x : null;
      }, `round ${started.id} to close`);
      const version = coordinator.rounds.models.current().version;
      await waitFor(() => agents.every((a) => a.keeper.held()?.version === version), `model v${version} at every agent`);
      const model = agents[0]!.keeper.held()!.model;
      const figs = await fleetFigures(model, o.machines, o.norms);
      const f1 = pick(figs, 'f1');
      const normalError = pick(figs, 'normalError');
      const sent = (a: SimAgent) => a.results.flatMap((x) => (x.roundId === started.id && x.ok ? [x] : []));
      const honestNorms = agents.filter((a) => !poisoned[a.id]).flatMap((a) => sent(a).map((x) => x.norm));
      const agentMs = agents.flatMap((a) => sent(a).map((x) => x.ms));
      const figures: RoundFigures = {
        round: r,
        roundId: started.id,
        outcome: closed.outcome!,
        f1,
        meanF1: mean(Object.values(f1)),
        normalError,
        meanNormalError: mean(Object.values(normalError)),
        bytes: closed.summary!.bytes,
        durationMs: closed.summary!.durationMs,
        honestNorms,
        agentMs,
        note: closed.note ?? '',
      };
      rounds.push(figures);
      meanF1.push(figures.meanF1);
      meanNormalError.push(figures.meanNormalError);
      o.onRound?.(figures);
    }
    return { strategy: o.strategy, poisoned, meanF1, meanNormalError, rounds, final: agents[0]!.keeper.held()!.model };
  } finally {
    for (const a of agents) await a.stop();
    await coordinator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
