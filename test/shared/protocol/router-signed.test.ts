import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Counters } from '../../../shared/observe/counters.ts';
import { encode } from '../../../shared/protocol/codec.ts';
import { COORDINATOR_ID } from '../../../shared/protocol/ids.ts';
import { REJECTED_METRIC, Router } from '../../../shared/protocol/router.ts';
import { generateSigningKeys, keyIdOf, signMessage } from '../../../shared/protocol/sign.ts';
import { mustBeSigned, TOPICS, type TopicKey } from '../../../shared/protocol/topics.ts';

const coordinator = generateSigningKeys();
const stranger = generateSigningKeys();
const HINT = 'no fleet.publicKey configured: run "homeostat coordinator key" and put it in the agent config';

/** A router as the agent builds it, with a log that keeps what it was told. */
function agentRouter(signers = [coordinator.publicKey]) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const counters = new Counters();
  const router = new Router(log, counters);
  router.signers = signers;
  router.noSignersHint = HINT;
  const seen: string[] = [];
  router.on('cmd', (m) => void seen.push(`cmd:${m.body.command}`));
  router.on('policy', (m) => void seen.push(`policy:v${m.body.version}`));
  router.on('fleetControl', (m) => void seen.push(`pause:${m.body.paused}`));
  router.on('coordinatorStatus', (m) => void seen.push(`coordinator:${m.body.state}`));
  const rejected = (topic: TopicKey, reason: string) => counters.get(REJECTED_METRIC, { topic, reason });
  return { router, seen, lines, rejected };
}

const policyBody = (version: number) => ({ version, author: 'alice', createdAt: 1, policy: { rules: [] } });

test('the catalogue marks every coordinator order as signed, and nothing agents send', () => {
  const signed = (Object.keys(TOPICS) as TopicKey[]).filter(mustBeSigned);
  for (const k of ['cmd', 'fleetControl', 'policy'] as const) assert.ok(signed.includes(k), `${k} is signed`);
  for (const k of signed) assert.notEqual(TOPICS[k].direction, 'agent→coordinator', `${k}: agents do not hold the fleet key`);
  assert.equal(mustBeSigned('coordinatorStatus'), false, 'the online/offline status (and its Last Will) stays unsigned');
});

test('signed orders reach their handler; unsigned, other-key and altered ones are refused by reason, counted and logged', async () => {
  const { router, seen, lines, rejected } = agentRouter();
  const signer = coordinator.privateKey;
  const ok = encode('cmd', { from: COORDINATOR_ID, agentId: 'a1', body: { command: 'ping' }, signer });
  assert.equal(await router.dispatch(ok.topic, Buffer.from(ok.payload)), true);
  const pol = encode('policy', { from: COORDINATOR_ID, agentId: 'default', body: policyBody(2), signer });
  assert.equal(await router.dispatch(pol.topic, Buffer.from(pol.payload)), true);
  assert.deepEqual(seen, ['cmd:ping', 'policy:v2']);

  const unsigned = encode('fleetControl', { from: COORDINATOR_ID, body: { paused: true, by: 'mallory', reason: '', at: 1 } });
  assert.equal(await router.dispatch(unsigned.topic, Buffer.from(unsigned.payload)), false);
  const otherKey = encode('policy', { from: COORDINATOR_ID, agentId: 'default', body: policyBody(3), signer: stranger.privateKey });
  assert.equal(await router.dispatch(otherKey.topic, Buffer.from(otherKey.payload)), false);
  const altered = JSON.parse(pol.payload);
  altered.body.policy.dryRun = true;
  assert.equal(await router.dispatch(pol.topic, Buffer.from(JSON.stringify(altered))), false);
  // The coordinator's key id on a signature the forger made with its own key.
  const forged = JSON.parse(otherKey.payload);
  forged.sig.keyId = keyIdOf(coordinator.publicKey);
  assert.equal(await router.dispatch(otherKey.topic, Buffer.from(JSON.stringify(forged))), false);
  // A command signed for agent a1, replayed on agent a2's topic.
  assert.equal(await router.dispatch('homeostat/v1/agents/a2/cmd', Buffer.from(ok.payload)), false);

  assert.deepEqual(seen, ['cmd:ping', 'policy:v2'], 'no refused message reached a handler');
  assert.equal(rejected('fleetControl', 'unsigned'), 1);
  assert.equal(rejected('policy', 'unknown_key'), 1);
  assert.equal(rejected('policy', 'bad_signature'), 2);
  assert.equal(rejected('cmd', 'bad_signature'), 1);
  const logged = lines.filter((l) => l.msg === 'rejected message').map((l) => l.reason);
  assert.deepEqual(logged, ['unsigned', 'unknown_key', 'bad_signature', 'bad_signature', 'bad_signature']);

  const status = encode('coordinatorStatus', { from: COORDINATOR_ID, body: { state: 'online', reason: 'start', version: '0', startedAt: 1 } });
  assert.equal(await router.dispatch(status.topic, Buffer.from(status.payload)), true, 'unsigned topics are unaffected');
});

test('with no key configured every signed topic is refused with the configuration hint', async () => {
  const { router, seen, lines, rejected } = agentRouter([]);
  const signed = encode('cmd', { from: COORDINATOR_ID, agentId: 'a1', body: { command: 'ping' }, signer: coordinator.privateKey });
  const unsigned = encode('policy', { from: COORDINATOR_ID, agentId: 'default', body: policyBody(1) });
  assert.equal(await router.dispatch(signed.topic, Buffer.from(signed.payload)), false);
  assert.equal(await router.dispatch(unsigned.topic, Buffer.from(unsigned.payload)), false);
  assert.deepEqual(seen, []);
  assert.equal(rejected('cmd', 'unknown_key'), 1);
  assert.equal(rejected('policy', 'unsigned'), 1);
  for (const l of lines.filter((x) => x.msg === 'rejected message')) assert.ok(String(l.detail).endsWith(HINT), String(l.detail));
});

test('a message signed before a field was defaulted still verifies: encode signs the validated envelope', async () => {
  const { router, seen } = agentRouter();
  // fleetControl.reason has a schema default; the receiver validates (fills it) before verifying.
  const out = encode('fleetControl', { from: COORDINATOR_ID, body: { paused: false, by: 'ops', at: 5 } as never, signer: coordinator.privateKey });
  assert.equal(await router.dispatch(out.topic, Buffer.from(out.payload)), true);
  assert.deepEqual(seen, ['pause:false']);
  // Signing the raw input instead (without the default) would not verify: this is why encode signs parsed data.
  const raw = signMessage({ v: 1, id: JSON.parse(out.payload).id, corr: JSON.parse(out.payload).id, from: COORDINATOR_ID, ts: 1, kind: 'fleet-control', body: { paused: false, by: 'ops', at: 5 } }, coordinator.privateKey, out.topic);
  assert.equal(await router.dispatch(out.topic, Buffer.from(JSON.stringify(raw))), false);
});
