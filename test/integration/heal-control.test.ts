import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getJson, startFleet, type Fleet } from '../support/fleet.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { startHealAgent, type HealAgent } from '../e2e/support/heal-agent.ts';

const AUTH = { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' };

/**
 * The coordinator's hands on healing, over a real broker: approving a high-risk action, pausing
 * the fleet, resetting an escalated target. The agent runs a real probe that always fails.
 */
describe('heal control from the coordinator', () => {
  let fleet: Fleet;
  let agent: HealAgent;
  let dir: string;
  const post = (path: string, body: unknown) => fetch(`${fleet.api}${path}`, { method: 'POST', headers: AUTH, body: JSON.stringify(body) });

  before(async () => {
    fleet = await startFleet('aedes');
    dir = mkdtempSync(join(tmpdir(), 'heal-control-'));
    agent = await startHealAgent(
      {
        probes: [{ name: 'broken', kind: 'command', argv: ['false'], intervalSec: 1, timeoutMs: 500 }],
        allow: { actions: ['run_command'], commands: { fix: ['true'] } },
        policy: {
          rules: [
            {
              id: 'risky-fix',
              symptom: { kind: 'probe_failing', probe: 'broken', k: 1, n: 1 },
              action: { type: 'run_command', command: 'fix' },
              guards: { cooldownSec: 1, approval: { required: true, timeoutSec: 60 }, verify: { windowSec: 2, settleSec: 1 }, breaker: { failures: 1, openSec: 3600 }, escalateAfterSec: 3600 },
            },
          ],
        },
      },
      { dir, brokerUrl: fleet.brokerUrl, id: 'controlled-agent', fleetPublicKey: fleet.publicKey },
    );
    await waitFor(() => fleet.coordinator.store.agent('controlled-agent')?.state === 'online', 10_000, 'agent online');
  });
  after(async () => {
    await agent.stop();
    await fleet.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a high-risk action waits for approval, and runs once the coordinator approves it', async () => {
    const request = await waitFor(
      async () => (await getJson<Array<{ type: string; corr: string }>>(`${fleet.api}/api/events?agent=controlled-agent&limit=1000`)).find((e) => e.type === 'approval'),
      15_000,
      'an approval request at the coordinator',
    );
    assert.equal(agent.decisions('acted').length, 0, 'nothing done before the approval');
    const r = await post(`/api/agents/controlled-agent/approvals/${request.corr}`, { approved: true, by: 'alice' });
    assert.equal(r.status, 200, await r.text());
    const acted = await agent.waitDecision('acted', 10_000);
    assert.match(String(acted.record.detail), /approved by alice/);
    const again = await post(`/api/agents/controlled-agent/approvals/${request.corr}`, { approved: true });
    assert.equal(again.status, 409, 'an answered request cannot be answered twice');
  });

  it('the fleet pause holds every action back until resumed; a reset clears the breaker', async () => {
    // The probe never recovers: the approved fix failed verification and opened the breaker (failures: 1).
    await agent.waitDecision('breaker_open', 15_000);
    const paused = await post('/api/fleet/pause', { reason: 'maintenance window', by: 'bob' });
    assert.equal(paused.status, 200);
    await agent.waitDecision('paused', 10_000);
    assert.equal(agent.agent.healing!.engine.isPaused, true);
    const reset = await post('/api/agents/controlled-agent/heal/reset', { ruleId: 'risky-fix', by: 'bob' });
    assert.equal(reset.status, 200);
    assert.equal(((await reset.json()) as { result: { reset: number } }).result.reset, 1);
    await agent.waitDecision('skipped', 10_000, (d) => d.guard === 'paused');
    const requests = agent.decisions('approval_requested').length;
    await sleep(3000);
    assert.equal(agent.decisions('approval_requested').length, requests, 'paused: not even an approval request');
    assert.equal((await post('/api/fleet/resume', {})).status, 200);
    await waitFor(() => agent.decisions('approval_requested').length > requests, 10_000, 'asks again once resumed');
    assert.deepEqual(await getJson(`${fleet.api}/api/fleet/control`).then((c) => (c as { paused: boolean }).paused), false);
  });
});
