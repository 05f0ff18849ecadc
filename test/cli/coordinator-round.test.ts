import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent } from '../../agent/agent.ts';
import { silentLogger } from '../../shared/observe/log.ts';
import { startFleet, type Fleet } from '../support/fleet.ts';
import { waitFor } from '../support/wait.ts';
import { cli } from '../support/cli.ts';

const TOKEN = 'test-admin-token-0123456789';


let fleet: Fleet;
let agent: Agent | undefined;
before(async () => {
  // One participant is enough to open a round; its empty store makes it sit the round out and
  // say so, so the round closes long before its deadline, without a model, and says why.
  fleet = await startFleet('aedes', { federation: { minParticipants: 1, deadlineSec: 600 } });
});
after(async () => {
  await agent?.stop();
  await fleet.close();
});

test('round start with nobody online is refused with the reason; round list says there are none', async () => {
  const api = ['--api', fleet.api, '--token', TOKEN];
  const list = await cli(['coordinator', 'round', 'list', ...api]);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stdout, 'no rounds yet (start one: homeostat coordinator round start)\n');
  const start = await cli(['coordinator', 'round', 'start', ...api]);
  assert.equal(start.code, 1);
  assert.match(start.stderr, /round not started: .*online/);
});

test('round start opens a round over the online agent; round list shows how it ended and why', async () => {
  agent = new Agent(fleet.agentConfig({ id: 'cli-round-a', heal: { enabled: false }, detect: { tuning: { enabled: false } } }), { log: silentLogger, sampling: false });
  await agent.start();
  await waitFor(() => fleet.coordinator.store.agent('cli-round-a')?.state === 'online', 10_000, 'the agent online');
  const api = ['--api', fleet.api, '--token', TOKEN];
  const start = await cli(['coordinator', 'round', 'start', '--strategy', 'median', ...api]);
  assert.equal(start.code, 0, start.stderr);
  assert.match(start.stdout, /^round \S+ open: 1 agent\(s\) sampled \(cli-round-a\), median from model v0, deadline \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\n$/);
  const id = /^round (\S+)/.exec(start.stdout)![1]!;
  await waitFor(async () => (await cli(['coordinator', 'round', 'list', ...api])).stdout.includes('below_minimum'), 20_000, 'the round closed (the agent declined)');
  const list = await cli(['coordinator', 'round', 'list', ...api]);
  assert.match(list.stdout, new RegExp(`^${id} .* median {2}0/1 used, 1 failed, 0 rejected {2}below_minimum\\n {4}every sampled agent reported or declined: `));
  const failures = fleet.coordinator.rounds.store.round(id)!.summary!.failures;
  assert.match(failures[0]!.reason, /^sat the round out \(not_enough_data: 0 normal samples, learn\.minSamples is 1800\)$/);
});
