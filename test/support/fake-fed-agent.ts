import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { DEFAULT_BASE_MODEL_PATH } from '../../agent/detect/detector.ts';
import { flattenWeights } from '../../models/autoencoder/weights.ts';
import { readAutoencoder } from '../../models/onnx/reader.ts';
import { encodeUpdate, type Update } from '../../shared/federation/update-codec.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { topicFor } from '../../shared/protocol/topics.ts';

const BASE = readAutoencoder(readFileSync(DEFAULT_BASE_MODEL_PATH)).model;

/** A stand-in agent on a raw MQTT client: online status (offline as its Last Will), and hand-made updates. */
export async function fakeAgent(url: string, id: string): Promise<{ client: MqttClient; send(bytes: Uint8Array): Promise<void> }> {
  const status = (state: 'online' | 'offline', reason: 'start' | 'lwt') =>
    encode('status', {
      from: id,
      agentId: id,
      body: { state, reason, agentVersion: 't', featureVersion: 1, modelVersion: null, policyVersion: null, cohort: 'default', host: { hostname: 'h', platform: 'linux', arch: 'x64', cores: 1 }, startedAt: 1 },
    });
  const will = status('offline', 'lwt');
  const client = await mqtt.connectAsync(url, { clientId: `fake-${id}`, protocolVersion: 4, reconnectPeriod: 0, will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: true } });
  const online = status('online', 'start');
  await client.publishAsync(online.topic, online.payload, { qos: 1, retain: true });
  return { client, send: async (bytes) => void (await client.publishAsync(topicFor('updates', id), Buffer.from(bytes), { qos: 1 })) };
}

export function update(roundId: string, agentId: string, v = 0.01): Uint8Array {
  const u: Update = {
    roundId,
    agentId,
    baseVersion: 0,
    numSamples: 100,
    quantization: 'f16',
    clipNorm: null,
    noiseMultiplier: 0,
    tensors: flattenWeights(BASE).map((t) => ({ ...t, data: new Float32Array(t.data.length).fill(v) })),
  };
  return encodeUpdate(u);
}

