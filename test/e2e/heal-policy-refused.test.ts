import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent } from '../../agent/agent.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { getJson, startFleet, type Fleet } from '../support/fleet.ts';
import { waitFor } from '../support/wait.ts';

const AUTH = { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' };
type Event = { agent: string; type: string; severity: string; summary: string; data: { decision?: string; policyVersion?: number; detail?: string } };

/**
 * Issue 4's scenario (g): the coordinator pushes a validly signed policy that asks for more than
 * this node's owner allows (its local ceiling). The agent refuses it whole, keeps the policy in
 * force, and says so: a `policy_refused` event reaches the coordinator's /api/events.
 */
let f: Fleet;
let agent: Agent;
const push = async (policy: unknown) => {
  const r = await fetch(`${f.api}/api/policies`, { method: 'POST', headers: AUTH, body: JSON.stringify({ author: 'alice', policy }) });
  assert.equal(r.status, 201, await r.clone().text());
  return ((await r.json()) as { version: number }).version;
};
const notify = { id: 'cpu-note', symptom: { kind: 'metric', feature: 'cpu_user_pct', op: '>', value: 99, forSec: 600 }, action: { type: 'notify', message: 'cpu' } };

before(async () => {
  f = await startFleet('aedes');
  // The owner's ceiling: notify only (the default), no managed services.
  agent = new Agent(f.agentConfig({ id: 'ceiling-agent', detect: { enabled: false } }), { log: silentLogger, sampling: false });
  await agent.start();
  await waitFor(() => f.coordinator.store.agent('ceiling-agent')?.state === 'online', 10_000, 'agent online');
});
after(async () => {
  await agent.stop();
  await f.close();
});

test('a signed policy over the local ceiling is refused, reported to the coordinator, and the old policy stays', async () => {
  const good = await push({ rules: [notify] });
  await waitFor(() => agent.healing!.engine.policyVersion === good, 10_000, `v${good} applied`);

  const over = await push({ rules: [notify, { id: 'restart-db', symptom: { kind: 'metric', feature: 'cpu_user_pct', op: '>', value: 90 }, action: { type: 'restart_service', service: 'postgres' } }] });
  const refused = await waitFor(
    async () => (await getJson<Event[]>(`${f.api}/api/events?agent=ceiling-agent&limit=1000`)).find((e) => e.data.decision === 'policy_refused'),
    15_000,
    'a policy_refused event at the coordinator',
  );
  assert.equal(refused.severity, 'warning');
  assert.match(refused.data.detail ?? '', new RegExp(`policy v${over} from coordinator .* refused, v${good} stays in force`));
  assert.match(refused.data.detail ?? '', /rule "restart-db".action: action restart_service is not allowed on this node/);
  assert.equal(agent.healing!.engine.policyVersion, good);
  assert.equal(agent.counters.get('homeostat_policy_updates_total', { result: 'refused' }), 1);
  const status = await getJson<{ versions: { policy: number } }>(`${f.api}/api/agents/ceiling-agent`);
  assert.equal(status.versions.policy, good, 'the registry shows the version actually in force');

  // Not stuck: the next policy that fits is applied.
  const fits = await push({ rules: [{ ...notify, symptom: { ...notify.symptom, value: 98 } }] });
  await waitFor(() => agent.healing!.engine.policyVersion === fits, 10_000, `v${fits} applied after the refusal`);
});
