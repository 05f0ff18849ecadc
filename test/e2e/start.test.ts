import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';

type AgentRow = { id: string; state: string; latestTelemetry: { metrics: Record<string, { last: number }> } | null };

test('homeostat start: coordinator + embedded broker + local agent, online with live metrics; Ctrl-C stops both cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-start-'));
  const [mqttPort, apiPort] = [await freePort(), await freePort()];
  const p = spawn(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'start', '--data-dir', dir, '--mqtt-port', String(mqttPort), '--api-port', String(apiPort)], {
    env: { ...process.env, HOMEOSTAT_LOG_LEVEL: 'warn' },
  });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  try {
    const api = `http://127.0.0.1:${apiPort}`;
    await waitFor(() => out.includes(`API     ${api}`), 30_000, 'the API address printed');
    assert.match(out, /admin token created/);
    const agents = await waitFor(
      async () => {
        const r = await fetch(`${api}/api/agents`).catch(() => null);
        const list = r?.ok ? ((await r.json()) as AgentRow[]) : [];
        return list.length === 1 && list[0]!.state === 'online' && list[0]!.latestTelemetry ? list : null;
      },
      30_000,
      'the local agent online with telemetry',
    );
    const m = agents[0]!.latestTelemetry!.metrics;
    assert.ok(m.mem_used_pct!.last > 0 && m.process_count!.last >= 1, 'live host metrics');
    await waitFor(() => out.includes(agents[0]!.id), 10_000, 'the live view shows the agent');
  } finally {
    p.kill('SIGINT');
  }
  const code = await new Promise((r) => p.once('exit', r));
  assert.equal(code, 0, 'a clean stop');
});
