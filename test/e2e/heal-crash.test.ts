import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { freePort } from '../support/ports.ts';
import { getJson, startFleet, type Fleet } from '../support/fleet.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { startHealAgent, type HealAgent } from './support/heal-agent.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const cleanup: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

describe('heal: crash loops and crashes of the agent itself', () => {
  it('(e) a service that crashes right after every restart: the breaker opens after N attempts, one escalation reaches the coordinator, no restart storm', async () => {
    const fleet: Fleet = await startFleet('aedes');
    cleanup.push(() => fleet.close());
    const dir = mkdtempSync(join(tmpdir(), 'heal-e-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const starts = join(dir, 'starts.log');
    // Logs each start, then dies 300 ms later: every restart "works" and none holds.
    const crasher = `require('fs').appendFileSync(${JSON.stringify(starts)}, 'start\\n'); setTimeout(() => process.exit(3), 300)`;
    const agent: HealAgent = await startHealAgent(
      {
        services: [{ name: 'crasher', kind: 'command', argv: [process.execPath, '-e', crasher], pidfile: join(dir, 'crasher.pid') }],
        allow: { actions: ['restart_service'] },
        policy: {
          rules: [
            {
              id: 'restart-crasher',
              symptom: { kind: 'process_down', service: 'crasher' },
              action: { type: 'restart_service', service: 'crasher' },
              guards: { cooldownSec: 1, backoff: { initialSec: 1, maxSec: 2 }, breaker: { failures: 3, openSec: 600 }, verify: { windowSec: 3, settleSec: 2 }, escalateAfterSec: 15 },
            },
          ],
        },
      },
      { dir, brokerUrl: fleet.brokerUrl, id: 'crash-loop-agent' },
    );
    cleanup.push(() => agent.stop());
    await agent.waitDecision('breaker_open', 40_000);
    const esc = await agent.waitDecision('escalated', 40_000);
    // Well past the escalation: nothing more is tried.
    await sleep(5000);
    const restarts = readFileSync(starts, 'utf8').trim().split('\n').length;
    assert.equal(restarts, 3, 'exactly breaker.failures restarts');
    assert.equal(agent.decisions('escalated').length, 1);
    assert.equal(agent.decisions('verify_failed').length, 3);
    const story = esc.record.story as Array<{ decision: string }>;
    assert.deepEqual(
      story.filter((s) => ['acted', 'verify_failed', 'breaker_open'].includes(s.decision)).map((s) => s.decision),
      ['acted', 'verify_failed', 'acted', 'verify_failed', 'acted', 'verify_failed', 'breaker_open'],
    );
    // The escalation, with its story, is at the coordinator.
    await waitFor(
      async () => (await getJson<Array<{ type: string }>>(`${fleet.api}/api/events?agent=crash-loop-agent&limit=1000`)).some((e) => e.type === 'escalation'),
      15_000,
      'escalation event at the coordinator',
    );
  });

  it('(f) the agent SIGKILLed between intent and outcome: after restart no second action, and the outcome is reconciled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heal-f-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const runs = join(dir, 'runs.log');
    // The remedy: logs that it ran, then takes 20 s (the agent is killed in the meantime).
    const slowFix = `require('fs').appendFileSync(${JSON.stringify(runs)}, 'run\\n'); setTimeout(() => {}, 20000)`;
    const config = join(dir, 'agent.yaml');
    writeFileSync(
      config,
      stringify({
        id: 'crash-agent',
        dataDir: join(dir, 'data'),
        detect: { enabled: false },
        broker: { url: `mqtt://127.0.0.1:${await freePort()}` },
        heal: {
          probes: [{ name: 'always-failing', kind: 'command', argv: ['false'], intervalSec: 1, timeoutMs: 500 }],
          allow: { actions: ['run_command'], commands: { 'slow-fix': [process.execPath, '-e', slowFix] } },
          policy: { rules: [{ id: 'fix', symptom: { kind: 'probe_failing', probe: 'always-failing', k: 1, n: 1 }, action: { type: 'run_command', command: 'slow-fix' }, guards: { cooldownSec: 600 } }] },
        },
      }),
    );
    const startAgent = (): ChildProcess => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'agent', 'run', '--config', config], { cwd: REPO, stdio: 'ignore', env: { ...process.env, HOMEOSTAT_LOG_LEVEL: 'silent' } });
      cleanup.push(() => p.kill('SIGKILL'));
      return p;
    };
    const dbFile = join(dir, 'data', 'agent.db');
    const journal = () => {
      try {
        const db = new Database(dbFile, { readonly: true, fileMustExist: true });
        try {
          return db.prepare('SELECT state FROM heal_journal').all() as Array<{ state: string }>;
        } finally {
          db.close();
        }
      } catch {
        return [];
      }
    };
    const first = startAgent();
    await waitFor(() => journal().some((j) => j.state === 'intent'), 30_000, 'an open intent in the journal');
    await waitFor(() => existsSync(runs), 10_000, 'the remedy started');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const second = startAgent();
    await waitFor(() => journal().some((j) => j.state === 'reconciled'), 30_000, 'the open intent reconciled after restart');
    // The symptom is still there; the agent must not run the remedy again.
    await sleep(5000);
    assert.deepEqual(journal().map((j) => j.state), ['reconciled']);
    assert.equal(readFileSync(runs, 'utf8').trim().split('\n').length, 1, 'the remedy ran once');
    const db = new Database(dbFile, { readonly: true });
    const rec = db.prepare(`SELECT record FROM audit WHERE kind = 'reconciled'`).all() as Array<{ record: string }>;
    db.close();
    assert.equal(rec.length, 1);
    assert.match(JSON.parse(rec[0]!.record).detail, /the agent stopped during this action/);
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  });
});
