import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetModelKeeper } from '../../../agent/learn/fleet-model.ts';
import { Participant, PARTICIPANT_METRIC, type RoundResult } from '../../../agent/learn/participant.ts';
import { mulberry32 } from '../../../agent/learn/rng.ts';
import { applyDelta, flattenWeights } from '../../../models/autoencoder/weights.ts';
import { l2Norm } from '../../../shared/federation/tensor.ts';
import { decodeUpdate } from '../../../shared/federation/update-codec.ts';
import { Counters } from '../../../shared/observe/counters.ts';
import { silentLogger } from '../../../shared/observe/log.ts';
import type { RoundBody } from '../../../shared/protocol/messages.ts';
import { BASE, EXPECT, modelBody, rows } from './fleet-fixtures.ts';

const base = modelBody(0);

function round(over: Partial<RoundBody> = {}): RoundBody {
  return {
    roundId: 'r1-a',
    state: 'open',
    baseVersion: 0,
    baseSha256: base.sha256,
    openedAt: Date.now(),
    deadline: Date.now() + 60_000,
    minParticipants: 1,
    sampled: ['me', 'other'],
    training: { epochs: 1, learningRate: 1e-3, windowsPerEpoch: 256, maxSamples: 2000 },
    clipNorm: 0.5,
    noiseMultiplier: 0,
    quantization: 'f32',
    strategy: 'fedavg',
    ...over,
  };
}

function participant(o: { data?: Float32Array; hold?: boolean; publish?: (p: Buffer) => Promise<void>; minSamples?: number } = {}) {
  const keeper = new FleetModelKeeper({ expect: EXPECT });
  if (o.hold !== false) keeper.offer(base);
  const sent: Buffer[] = [];
  const results: RoundResult[] = [];
  const counters = new Counters();
  const data = o.data ?? rows(1000);
  const p = new Participant({
    agentId: 'me',
    config: { participate: true, minSamples: o.minSamples ?? 300, cpuShare: 1 },
    keeper,
    samples: (limit) => data.subarray(Math.max(0, data.length - limit * EXPECT.featureNames.length)),
    publish: async (out) => {
      assert.equal(out.topic, 'homeostat/v1/agents/me/updates');
      assert.equal(out.qos, 1);
      await o.publish?.(out.payload);
      sent.push(out.payload);
    },
    log: silentLogger,
    counters,
    noiseRand: mulberry32(9),
    onResult: (r) => results.push(r),
  });
  return { p, keeper, sent, results, counters };
}

describe('participant', () => {
  it('sampled: fine-tunes the announced model with local normalisation and sends one clipped HSU1 delta of the shared weights only', async () => {
    const { p, sent, results, counters } = participant();
    p.onRound(round());
    await p.idle();
    assert.equal(results[0]?.ok, true, JSON.stringify(results[0]));
    assert.equal(sent.length, 1);
    const u = decodeUpdate(sent[0]!);
    assert.deepEqual([u.roundId, u.agentId, u.baseVersion, u.numSamples, u.quantization, u.clipNorm], ['r1-a', 'me', 0, 1000, 'f32', 0.5]);
    assert.deepEqual(
      u.tensors.map((t) => t.name),
      flattenWeights(BASE).map((t) => t.name),
      'layer weights and biases only: no mean, std or samples leave the node',
    );
    assert.ok(l2Norm(u.tensors) <= 0.5 + 1e-6, 'clipped to the announced norm');
    assert.ok(l2Norm(u.tensors) > 0, 'training moved the weights');
    applyDelta(BASE, u.tensors);
    assert.equal(counters.snapshot()[PARTICIPANT_METRIC]![0]!.labels.result, 'sent');
  });

  it('a retained redelivery of the same round trains once; a round that does not sample this node, or is closed, trains not at all', async () => {
    const { p, sent } = participant();
    p.onRound(round({ sampled: ['other'] }));
    p.onRound(round({ roundId: 'r2-a', state: 'closed' }));
    await p.idle();
    assert.equal(sent.length, 0);
    p.onRound(round());
    p.onRound(round());
    await p.idle();
    p.onRound(round());
    await p.idle();
    assert.equal(sent.length, 1);
  });

  it('waits for the announced base model, then trains when it arrives', async () => {
    const { p, keeper, sent } = participant({ hold: false });
    p.onRound(round());
    await p.idle();
    assert.equal(sent.length, 0);
    keeper.offer(base);
    p.onModel();
    await p.idle();
    assert.equal(sent.length, 1);
  });

  it('sits the round out with too few normal samples', async () => {
    const { p, sent, results } = participant({ data: rows(200) });
    p.onRound(round());
    await p.idle();
    assert.equal(sent.length, 0);
    assert.deepEqual(results.map((r) => !r.ok && r.reason), ['not_enough_data']);
  });

  it('retries a publish the link refused, and gives up at the deadline', async () => {
    let fails = 1;
    const retried = participant({
      publish: async () => {
        if (fails-- > 0) throw new Error('not connected');
      },
    });
    retried.p.onRound(round());
    await retried.p.idle();
    assert.equal(retried.sent.length, 1);
    const never = participant({ publish: () => Promise.reject(new Error('not connected')) });
    never.p.onRound(round({ deadline: Date.now() + 1500 }));
    await never.p.idle();
    assert.equal(never.sent.length, 0);
    assert.deepEqual(never.results.map((r) => !r.ok && r.reason), ['not_sent']);
  });

  it('a round that closes, or a stop, ends training at its next slice', async () => {
    const { p, results, sent } = participant({ data: rows(3000) });
    p.onRound(round({ training: { epochs: 50, learningRate: 1e-3, windowsPerEpoch: 4000, maxSamples: 3000 } }));
    await new Promise((r) => setTimeout(r, 50));
    p.onRound(round({ state: 'closed' }));
    await p.idle();
    assert.deepEqual(results.map((r) => !r.ok && r.reason), ['cancelled']);
    assert.equal(sent.length, 0);
  });
});
