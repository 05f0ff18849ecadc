import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ACCEPT_METRIC, GlobalModelAcceptance } from '../../../agent/learn/accept.ts';
import { FleetModelKeeper, type FleetModel } from '../../../agent/learn/fleet-model.ts';
import { LearnConfigSchema } from '../../../agent/learn/learn-config.ts';
import type { ModelHost } from '../../../agent/learn/local-tuning.ts';
import { FEATURE_VERSION } from '../../../agent/sense/features.ts';
import type { AutoencoderModel } from '../../../models/autoencoder/spec.ts';
import { meanStd } from '../../../models/autoencoder/standardize.ts';
import { readAutoencoder } from '../../../models/onnx/reader.ts';
import { Counters } from '../../../shared/observe/counters.ts';
import { silentLogger } from '../../../shared/observe/log.ts';
import type { EventBody } from '../../../shared/protocol/messages.ts';
import { BASE, EXPECT, F, modelBody, rows } from './fleet-fixtures.ts';

/** The model in service: the base weights, but standardised so loosely (std × 1000) that nothing moves its score. */
const DULL: AutoencoderModel = { ...BASE, std: BASE.std.map((s) => s * 1000) };

function fleetModel(version: number): FleetModel {
  const k = new FleetModelKeeper({ expect: EXPECT });
  const r = k.offer(modelBody(version));
  assert.equal(r.status, 'new');
  return k.held()!;
}

describe('global model acceptance', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'accept-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function harness(data: Float32Array, current: AutoencoderModel | null, maxFprIncrease = 0.02) {
    const swapped: Uint8Array[] = [];
    const events: EventBody[] = [];
    const counters = new Counters();
    const host: ModelHost = {
      currentModel: () => (current ? { model: current, version: 'base-v1' } : null),
      swapModel: async (bytes) => {
        swapped.push(bytes);
        return { ok: true, version: readAutoencoder(bytes).meta.version };
      },
    };
    const modelDir = join(dir, `m${Math.random().toString(36).slice(2)}`);
    const a = new GlobalModelAcceptance({
      config: LearnConfigSchema.parse({ cpuShare: 1, accept: { minSamples: 500, maxFprIncrease } }),
      host,
      samples: (limit) => data.subarray(Math.max(0, data.length - limit * F)),
      featureVersion: FEATURE_VERSION,
      modelDir,
      emit: (e) => events.push(e),
      log: silentLogger,
      counters,
    });
    return { a, swapped, events, counters, modelDir };
  }

  it('accepts a model no worse on held-out data, with this node\'s own normalisation, swaps it in and saves it', async () => {
    const data = rows(3000, 4);
    const h = harness(data, BASE);
    const r = await h.a.consider(fleetModel(3));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(h.swapped.length, 1);
    const inService = readAutoencoder(h.swapped[0]!);
    assert.equal(inService.meta.version, 'global-v3');
    const own = meanStd(data.subarray(0, 2400 * F), F, 0.01);
    assert.ok(Math.abs(inService.model.mean[0]! - own.mean[0]!) < 1e-4, 'mean from this node\'s data, not the fleet file');
    assert.notDeepEqual(inService.model.mean, BASE.mean);
    assert.deepEqual(inService.model.layers[0]!.weight, BASE.layers[0]!.weight, 'the fleet\'s weights unchanged');
    assert.deepEqual(readFileSync(join(h.modelDir, 'current.onnx')), Buffer.from(h.swapped[0]!));
    assert.match(h.events[0]!.summary, /global model v3 in service/);
    assert.equal(h.counters.snapshot()[ACCEPT_METRIC]![0]!.labels.result, 'accepted');
  });

  it('refuses a model that flags more held-out normal windows than the current one by more than the margin, and keeps the current', async () => {
    // The newest fifth of the history has feature 0 shifted: the current (dull) model does not notice, the candidate does.
    const data = rows(3000, 5, { shiftFrom: 2400, shift: 3 });
    const h = harness(data, DULL);
    const r = await h.a.consider(fleetModel(3));
    assert.ok(!r.ok && r.reason === 'worse', JSON.stringify(r));
    assert.match(r.detail, /flags [1-9][0-9.]* % of this node's held-out normal windows, base-v1 0\.00 % \(allowed increase 2\.00 %\)/);
    assert.equal(h.swapped.length, 0);
    assert.equal(existsSync(join(h.modelDir, 'current.onnx')), false);
    assert.match(h.events[0]!.summary, /global model v3 not put in service \(worse\)/);
    const lenient = harness(data, DULL, 1);
    assert.ok((await lenient.a.consider(fleetModel(3))).ok, 'a margin of 1 accepts anything');
  });

  it('keeps the current model when there is too little local data to test a new one', async () => {
    const h = harness(rows(300, 6), BASE);
    const r = await h.a.consider(fleetModel(2));
    assert.ok(!r.ok && r.reason === 'not_enough_data');
    assert.equal(h.swapped.length, 0);
  });
});
