import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Agent } from '../../agent/agent.ts';
import { DEFAULT_BASE_MODEL_PATH } from '../../agent/detect/detector.ts';
import { gaussian, mulberry32 } from '../../agent/learn/rng.ts';
import { FEATURE_NAMES } from '../../agent/sense/features.ts';
import { readAutoencoder } from '../../models/onnx/reader.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { startFleet, type Fleet } from '../support/fleet.ts';
import { waitFor } from '../support/wait.ts';

let f: Fleet;
before(async () => {
  f = await startFleet('aedes');
});
after(async () => {
  await f.close();
});

test('a sustained fault in one feature becomes an explained anomaly event at the coordinator (real sampler loop, ORT, sqlite, broker)', async () => {
  const { model } = readAutoencoder(new Uint8Array(readFileSync(DEFAULT_BASE_MODEL_PATH)));
  const g = gaussian(mulberry32(3));
  const cpu = FEATURE_NAMES.indexOf('cpu_user_pct');
  let tick = 0;
  // Normal: the base model's own mean ± 0.2 std. Then cpu_user_pct jumps 25 std for 40 ticks.
  const source = {
    read: () => {
      tick++;
      return Array.from(model.mean, (m, j) => m + 0.2 * model.std[j]! * g() + (j === cpu && tick > 150 && tick <= 190 ? 25 * model.std[j]! : 0));
    },
  };
  const agent = new Agent(f.agentConfig({ sampling: { intervalMs: 100 }, detect: { threshold: { warmup: 60 } } }), { log: silentLogger, sampler: { source } });
  await agent.start();
  try {
    const opened = await waitFor(
      () => f.coordinator.store.events({ agent: agent.id, limit: 100 }).find((e) => e.type === 'anomaly' && (e.data as { state: string }).state === 'open'),
      60_000,
      'an anomaly-open event at the coordinator',
    );
    const data = opened.data as { top: Array<{ feature: string }>; modelVersion: string; correlationId: string };
    assert.equal(data.top[0]!.feature, 'cpu_user_pct', 'the feature that moved is named first');
    assert.equal(data.modelVersion, 'base-v1');
    assert.equal(opened.corr, data.correlationId);
    assert.match(opened.summary, /^anomaly open: score .* over threshold .*; top: cpu_user_pct=/);
    assert.ok(tick > 150, 'not before the fault');
    await waitFor(() => f.coordinator.store.events({ agent: agent.id, limit: 100 }).some((e) => e.corr === data.correlationId && (e.data as { state: string }).state === 'closed'), 60_000, 'the anomaly closes once the fault ends');
    assert.equal(f.coordinator.store.agent(agent.id)!.versions.model, 'base-v1');
  } finally {
    await agent.stop();
  }
});
