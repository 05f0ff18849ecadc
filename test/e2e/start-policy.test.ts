import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

type AgentRow = { id: string; state: string; versions: { policy: number | null } };

test('out of the box: "homeostat start" gives its agent the coordinator key, so a policy pushed with the CLI is applied', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-start-policy-'));
  const [mqttPort, apiPort] = [await freePort(), await freePort()];
  const p = spawn(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'start', '--data-dir', dir, '--mqtt-port', String(mqttPort), '--api-port', String(apiPort)], {
    env: { ...process.env, HOMEOSTAT_LOG_LEVEL: 'warn' },
  });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const api = `http://127.0.0.1:${apiPort}`;
  try {
    await waitFor(async () => {
      const r = await fetch(`${api}/api/agents`).catch(() => null);
      return r?.ok && ((await r.json()) as AgentRow[]).some((a) => a.state === 'online');
    }, 30_000, 'the local agent online');
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, 'rules:\n  - id: cpu-note\n    symptom: { kind: metric, feature: cpu_user_pct, op: ">", value: 99, forSec: 600 }\n    action: { type: notify, message: busy }\n');
    // Found the way an operator on the box would: the token file in start's coordinator data directory.
    const push = spawnSync(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'coordinator', 'policy', 'push', file, '--data-dir', join(dir, 'coordinator'), '--api', api], { encoding: 'utf8', env: { ...process.env, HOMEOSTAT_ADMIN_TOKEN: '' }, timeout: 30_000 });
    assert.equal(push.status, 0, push.stderr);
    assert.match(push.stdout, /^policy v1 for cohort default published/);
    await waitFor(async () => ((await (await fetch(`${api}/api/agents`)).json()) as AgentRow[])[0]?.versions.policy === 1, 15_000, 'the agent reports policy v1');
    assert.doesNotMatch(err, /no fleet\.publicKey configured|rejected message/, 'nothing refused');
  } finally {
    p.kill('SIGINT');
    await new Promise((r) => p.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
