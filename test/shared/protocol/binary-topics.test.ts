import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeUpdate, type Update } from '../../../shared/federation/update-codec.ts';
import { Counters } from '../../../shared/observe/counters.ts';
import { silentLogger } from '../../../shared/observe/log.ts';
import { decode, decodeBinary, encode, encodeBinaryOutgoing } from '../../../shared/protocol/codec.ts';
import { MAX_JSON_PAYLOAD_BYTES } from '../../../shared/protocol/envelope.ts';
import { REJECTED_METRIC, Router } from '../../../shared/protocol/router.ts';
import { MAX_MODEL_PAYLOAD_BYTES, topicFor } from '../../../shared/protocol/topics.ts';

const update = (agentId = 'node-1'): Update => ({
  roundId: 'r1-abc',
  agentId,
  baseVersion: 0,
  numSamples: 100,
  quantization: 'f16',
  clipNorm: 2,
  noiseMultiplier: 0,
  tensors: [{ name: 'layer0.weight', dims: [2, 2], data: Float32Array.from([0.5, -0.25, 0, 1]) }],
});

test('an update published on agents/{id}/updates decodes to the same update', () => {
  const out = encodeBinaryOutgoing('updates', 'node-1', encodeUpdate(update()));
  assert.equal(out.topic, 'homeostat/v1/agents/node-1/updates');
  assert.equal(out.qos, 1);
  const d = decodeBinary(out.topic, out.payload);
  assert.ok(d?.ok);
  assert.deepEqual(Array.from(d.update.tensors[0]!.data), [0.5, -0.25, 0, 1]);
});

test('decodeBinary names the reason: codec reasons, a sender speaking for another agent, oversize; JSON topics are not binary', () => {
  const bytes = encodeUpdate(update());
  const t = topicFor('updates', 'node-1');
  const flipped = bytes.slice();
  flipped[20]! ^= 0xff;
  const cases: Array<[string, Uint8Array, string]> = [
    [t, bytes.subarray(0, bytes.length - 3), 'truncated'],
    [t, Uint8Array.from([0x48, 0x53, 0x55, 0x32, ...bytes.subarray(4)]), 'bad_magic'],
    [t, flipped, 'checksum'],
    [topicFor('updates', 'node-2'), bytes, 'sender_mismatch'],
    [t, new Uint8Array(2 * 1024 * 1024), 'oversized'],
  ];
  for (const [topic, payload, reason] of cases) {
    const d = decodeBinary(topic, payload);
    assert.ok(d && !d.ok, `${reason} should be rejected`);
    assert.equal(d.reason, reason);
  }
  assert.equal(decodeBinary(topicFor('events', 'node-1'), bytes), null);
});

test('the model topic takes a payload over the 64 KiB JSON limit, up to its own', () => {
  const onnx = Buffer.alloc(60 * 1024, 7).toString('base64');
  const out = encode('model', { from: 'coordinator', body: { version: 1, roundId: 'r1-abc', sha256: 'a'.repeat(64), createdAt: 1, onnx } });
  assert.ok(Buffer.byteLength(out.payload) > MAX_JSON_PAYLOAD_BYTES);
  const d = decode(out.topic, out.payload);
  assert.ok(d.ok, 'accepted whatever its size below the model limit');
  const huge = Buffer.alloc(MAX_MODEL_PAYLOAD_BYTES + 1, 0x20);
  const r = decode(out.topic, huge);
  assert.ok(!r.ok && r.reason === 'oversized');
  const events = decode(topicFor('events', 'node-1'), Buffer.alloc(MAX_JSON_PAYLOAD_BYTES + 1, 0x20));
  assert.ok(!events.ok && events.reason === 'oversized', 'other topics keep the JSON limit');
});

test('the router hands decoded updates to the binary handler and counts each refusal by reason', async () => {
  const counters = new Counters();
  const router = new Router(silentLogger, counters);
  const got: string[] = [];
  router.onBinary('updates', (u) => {
    got.push(u.agentId);
  });
  const bytes = encodeUpdate(update());
  const t = topicFor('updates', 'node-1');
  assert.equal(await router.dispatch(t, Buffer.from(bytes)), true);
  assert.equal(await router.dispatch(t, Buffer.from(bytes.subarray(0, 10))), false);
  assert.equal(await router.dispatch(topicFor('updates', 'node-9'), Buffer.from(bytes)), false);
  assert.deepEqual(got, ['node-1']);
  const rejected = counters.snapshot()[REJECTED_METRIC]!.map((s) => `${s.labels.topic}:${s.labels.reason}=${s.value}`).sort();
  assert.deepEqual(rejected, ['updates:sender_mismatch=1', 'updates:truncated=1']);
});
