import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decode, encode } from '../../../shared/protocol/codec.ts';
import { MAX_JSON_PAYLOAD_BYTES } from '../../../shared/protocol/envelope.ts';
import { newMessageId } from '../../../shared/protocol/ids.ts';
import { filterFor, matchTopic, topicFor, TOPICS, type TopicKey } from '../../../shared/protocol/topics.ts';

const event = { type: 'notice', severity: 'info', summary: 'hello', data: { n: 1 } } as const;

test('an encoded event decodes to the same envelope', () => {
  const out = encode('events', { from: 'node-1', agentId: 'node-1', body: event });
  assert.equal(out.topic, 'homeostat/v1/agents/node-1/events');
  assert.equal(out.qos, 1);
  assert.equal(out.retain, false);
  const d = decode(out.topic, Buffer.from(out.payload));
  assert.ok(d.ok);
  assert.equal(d.key, 'events');
  assert.equal(d.id, 'node-1');
  assert.equal(d.msg.id, out.id);
  assert.equal(d.msg.corr, out.id, 'corr defaults to the message id');
  assert.deepEqual(d.msg.body, event);
});

test('decode names the reason for each kind of bad input', () => {
  const t = topicFor('events', 'node-1');
  const good = JSON.parse(encode('events', { from: 'node-1', agentId: 'node-1', body: event }).payload);
  const cases: Array<[string, string | Buffer, string]> = [
    ['homeostat/v1/nope', '{}', 'unknown_topic'],
    [t, Buffer.alloc(MAX_JSON_PAYLOAD_BYTES + 1, 0x20), 'oversized'],
    [t, '{"v":1,', 'malformed_json'],
    [t, JSON.stringify({ ...good, v: 2 }), 'unsupported_version'],
    [t, JSON.stringify({ ...good, body: { type: 'bogus' } }), 'schema'],
    [t, JSON.stringify({ ...good, id: 'not-a-uuid' }), 'schema'],
    [t, JSON.stringify({ ...good, from: 'node-2' }), 'sender_mismatch'],
  ];
  for (const [topic, payload, reason] of cases) {
    const d = decode(topic, payload);
    assert.equal(d.ok, false, `${reason} should be rejected`);
    if (!d.ok) assert.equal(d.reason, reason);
  }
});

test('encode refuses a body that breaks its schema (a bug, caught before it reaches the wire)', () => {
  assert.throws(() => encode('events', { from: 'a', agentId: 'a', body: { ...event, summary: '' } }), /refusing to send an invalid "events"/);
});

test('every catalogue topic round-trips through topicFor, filterFor and matchTopic', () => {
  for (const key of Object.keys(TOPICS) as TopicKey[]) {
    const needsId = TOPICS[key].pattern.includes('{id}');
    const topic = topicFor(key, needsId ? 'abc' : undefined);
    const m = matchTopic(topic);
    assert.deepEqual(m, { key, id: needsId ? 'abc' : undefined });
    assert.equal(filterFor(key).includes('{id}'), false);
  }
});

test('message ids are unique and sort by creation time', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.integer({ min: 1, max: 2 ** 20 }), (t, dt) => {
      const a = newMessageId(t);
      const b = newMessageId(t + dt);
      return a < b && a !== newMessageId(t);
    }),
  );
});
