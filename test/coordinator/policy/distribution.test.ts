import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PolicyDistribution, PolicyPushError, POLICY_PUSHES_METRIC } from '../../../coordinator/policy/distribution.ts';
import { COORDINATOR_MIGRATIONS } from '../../../coordinator/store/migrations.ts';
import { Counters } from '../../../shared/observe/counters.ts';
import { silentLogger } from '../../../shared/observe/log.ts';
import { decode } from '../../../shared/protocol/codec.ts';
import { generateSigningKeys, verifyMessage } from '../../../shared/protocol/sign.ts';
import { openDatabase } from '../../../shared/store/sqlite.ts';

const keys = generateSigningKeys();
const notify = (id: string, value = 90) => ({ id, symptom: { kind: 'metric', feature: 'cpu_user_pct', op: '>', value }, action: { type: 'notify', message: 'cpu high' } });

function harness() {
  const sent: Array<{ topic: string; payload: string; retain: boolean }> = [];
  let broker: 'up' | 'down' = 'up';
  const counters = new Counters();
  let now = 1_000;
  const d = new PolicyDistribution({
    db: openDatabase(':memory:', 'coordinator', COORDINATOR_MIGRATIONS),
    signer: keys.privateKey,
    publish: async (out) => {
      if (broker === 'down') throw new Error('not connected');
      sent.push({ topic: out.topic, payload: out.payload, retain: out.retain });
    },
    log: silentLogger,
    counters,
    now: () => (now += 1000),
  });
  return { d, sent, counters, setBroker: (s: 'up' | 'down') => (broker = s) };
}

test('a push is validated, numbered, signed, published retained on its cohort topic, and kept with its diff', async () => {
  const { d, sent, counters } = harness();
  const r1 = await d.push({ author: 'alice', policy: { rules: [notify('cpu-high')] } });
  assert.equal(r1.published, true);
  assert.equal(r1.record.version, 1);
  assert.equal(r1.record.previous, null);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.topic, 'homeostat/v1/fleet/policy/default');
  assert.equal(sent[0]!.retain, true);
  const decoded = decode(sent[0]!.topic, sent[0]!.payload);
  assert.ok(decoded.ok && decoded.key === 'policy');
  assert.deepEqual(decoded.msg.body, { version: 1, author: 'alice', createdAt: r1.record.createdAt, policy: { rules: [notify('cpu-high')] } });
  assert.equal(verifyMessage(decoded.msg, [keys.publicKey], sent[0]!.topic).ok, true);

  // The version in a file is the coordinator's to assign; another cohort continues the same sequence.
  const r2 = await d.push({ author: 'bob', cohort: 'edge', policy: { version: 99, rules: [] } });
  assert.equal(r2.record.version, 2);
  assert.deepEqual(r2.record.policy, { rules: [] });
  assert.equal(sent[1]!.topic, 'homeostat/v1/fleet/policy/edge');
  const r3 = await d.push({ author: 'carol', policy: { dryRun: true, rules: [notify('cpu-high', 95)] } });
  assert.equal(r3.record.version, 3);
  assert.equal(r3.record.previous, 1, 'diffed against the same cohort');
  assert.deepEqual(r3.record.diff, [
    { op: 'changed', path: 'rules[id=cpu-high].symptom.value', from: 90, to: 95 },
    { op: 'added', path: 'dryRun', value: true },
  ]);
  assert.deepEqual(d.store.history('default').map((v) => [v.version, v.author]), [[1, 'alice'], [3, 'carol']]);
  assert.deepEqual(d.store.history().map((v) => v.version), [1, 2, 3]);
  assert.deepEqual(d.store.get(3)?.policy, { dryRun: true, rules: [notify('cpu-high', 95)] });
  assert.equal(d.store.get(4), null);
  assert.equal(counters.get(POLICY_PUSHES_METRIC, { result: 'published' }), 3);
});

test('an invalid policy is refused with rule and field named, and nothing is stored or sent', async () => {
  const { d, sent, counters } = harness();
  const bad = { rules: [notify('ok'), { id: 'broken', symptom: { kind: 'metric', feature: 'cpu_user_pct', op: '>>', value: 1 }, action: { type: 'notify', message: 'x' } }] };
  await assert.rejects(d.push({ policy: bad }), (e: Error) => e instanceof PolicyPushError && /rule "broken" \(rules\[1\]\)\.symptom/.test(e.message));
  await assert.rejects(d.push({ policy: { rules: [notify('a'), notify('a')] } }), /rule id "a" is used twice/);
  await assert.rejects(d.push({ cohort: 'Not A Cohort', policy: {} }), /cohort: a cohort name/);
  await assert.rejects(d.push({ policy: { rules: Array.from({ length: 150 }, (_, i) => ({ ...notify(`rule-${i}`), description: 'x'.repeat(480) })) } }), /too large to send .*exceeds 65536/);
  assert.equal(sent.length, 0);
  assert.deepEqual(d.store.history(), []);
  assert.equal(counters.get(POLICY_PUSHES_METRIC, { result: 'invalid' }), 4);
  assert.equal((await d.push({ policy: { rules: [] } })).record.version, 1, 'refusals do not use up version numbers');
});

test('a push the broker does not take is stored, reported, and goes out verbatim with the next republish', async () => {
  const { d, sent, setBroker, counters } = harness();
  await d.push({ policy: { rules: [] } });
  await d.push({ cohort: 'edge', policy: { rules: [] } });
  setBroker('down');
  const r = await d.push({ policy: { rules: [notify('late')] } });
  assert.equal(r.published, false);
  assert.match(r.published ? '' : r.error, /stored as v3 but not published \(not connected\); it goes out when the coordinator reconnects/);
  assert.equal(counters.get(POLICY_PUSHES_METRIC, { result: 'stored_unpublished' }), 1);
  await d.republish(); // broker still down: logged, not thrown
  setBroker('up');
  sent.length = 0;
  await d.republish();
  assert.deepEqual(sent.map((s) => [s.topic, JSON.parse(s.payload).body.version]), [
    ['homeostat/v1/fleet/policy/default', 3],
    ['homeostat/v1/fleet/policy/edge', 2],
  ]);
  await d.republish();
  assert.equal(sent[2]!.payload, sent[0]!.payload, 'the same signed message (same id), not a new one');
});
