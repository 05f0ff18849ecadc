import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runChaos, startChaos } from '../../agent/chaos/run-chaos.ts';
import { isAlive } from '../../agent/heal/services/linux-process.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';
import { answeringPid, answers, demoDecl, killFromPidfile } from '../agent/heal/services/fixtures/demo.ts';
import { startHealAgent, type HealAgent } from './support/heal-agent.ts';

/**
 * Issue 4's scenarios (a)–(d), end to end: a real agent (sampler, sqlite, executor) heals real
 * child processes hurt by the real chaos injector. Timings are generous bounds for "it happened",
 * not performance claims (MTTD/MTTR are measured by bench/heal-mttr.ts).
 */
const running: HealAgent[] = [];
const pidfiles: string[] = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const a of running) await a.stop().catch(() => undefined);
  for (const p of pidfiles) killFromPidfile(p);
  for (const c of children) c.kill('SIGKILL');
});

async function demoAgent(rules: unknown[], probeTimeoutMs = 800) {
  const port = await freePort();
  const a = await startHealAgent({});
  await a.stop();
  // The service and probe live in the agent's own directory (the agent above only made it).
  const decl = demoDecl(a.dir, port);
  pidfiles.push(decl.pidfile);
  const heal = {
    services: [{ ...decl, probe: 'demo-health' }],
    probes: [{ name: 'demo-health', kind: 'http', url: `http://127.0.0.1:${port}/health`, intervalSec: 1, timeoutMs: probeTimeoutMs, bodyMatch: '^ok' }],
    allow: { actions: ['restart_service'] },
    policy: { rules },
  };
  const agent = await startHealAgent(heal, { dir: a.dir });
  running.push(agent);
  return { agent, decl, port };
}

const restartDemo = (symptom: unknown) => ({
  id: 'restart-demo',
  symptom,
  action: { type: 'restart_service', service: 'demo' },
  guards: { cooldownSec: 2, verify: { windowSec: 15, settleSec: 1 }, backoff: { initialSec: 1, maxSec: 5 } },
});

describe('heal scenarios with real processes', () => {
  it('(a) a managed service killed is restarted, and the recovery verified', async () => {
    const { agent, decl, port } = await demoAgent([restartDemo({ kind: 'process_down', service: 'demo' })]);
    // The agent starts the declared service itself when it finds it down: that is scenario (a) too.
    await agent.waitDecision('verified', 20_000);
    const before = Number(readFileSync(decl.pidfile, 'utf8'));
    await runChaos('kill', { pidfile: decl.pidfile });
    assert.equal(isAlive(before), false);
    await waitFor(() => agent.decisions('verified').length === 2, 20_000, 'second verified recovery');
    const after = Number(readFileSync(decl.pidfile, 'utf8'));
    assert.notEqual(after, before);
    assert.equal(await answers(port), true);
    const acted = agent.decisions('acted').at(-1)!.record;
    assert.match(String(acted.evidence), /service "demo": .*not running|no process|stale|gone/i);
    assert.equal((acted.action as { type: string }).type, 'restart_service');
  });

  it('(b) a service that hangs (alive, probe failing) is restarted', async () => {
    const { agent, decl, port } = await demoAgent([restartDemo({ kind: 'probe_failing', probe: 'demo-health', k: 2, n: 3 })]);
    // Start it the way its owner would; the agent only acts on the probe.
    await agent.agent.healing!.engine.idle();
    const { CommandServiceAdapter } = await import('../../agent/heal/services/command-service.ts');
    await new CommandServiceAdapter(decl).start();
    await waitFor(() => answers(port), 15_000, 'demo answering');
    const pid = Number(readFileSync(decl.pidfile, 'utf8'));
    assert.equal(await answeringPid(port), pid, 'the service answering the probe is the one the pidfile names');
    const hang = await startChaos('hang', { durationMs: 60_000, pidfile: decl.pidfile });
    try {
      const acted = await agent.waitDecision('acted', 30_000);
      assert.match(String(acted.record.evidence), /probe "demo-health" failed \d of its last \d runs/);
      await agent.waitDecision('verified', 30_000);
      assert.equal(isAlive(pid), false, 'the hung process was replaced');
      assert.equal(await answers(port), true);
    } finally {
      hang.stop();
      await hang.done;
    }
  });

  it('(c) a runaway CPU process is killed; excluded processes are never touched', async () => {
    const marker = `homeostat-runaway-${process.pid}`;
    const burner = spawn(process.execPath, ['-e', `/*${marker}*/ const end = Date.now() + 120000; while (Date.now() < end) {}`], { stdio: 'ignore' });
    const keeper = spawn(process.execPath, ['-e', `/*${marker} keep-me*/ setTimeout(() => {}, 120000)`], { stdio: 'ignore' });
    children.push(burner, keeper);
    const agent = await startHealAgent({
      allow: { actions: ['kill_process'], kill: { patterns: [marker], neverKill: ['keep-me'] } },
      policy: {
        rules: [
          {
            id: 'kill-runaway',
            symptom: { kind: 'metric', feature: 'top_proc_cpu_pct', op: '>', value: 70, forSec: 3 },
            action: { type: 'kill_process', target: { pattern: marker }, graceMs: 1000 },
            guards: { cooldownSec: 5, verify: { windowSec: 10, settleSec: 2 } },
          },
        ],
      },
    });
    running.push(agent);
    const acted = await agent.waitDecision('acted', 30_000);
    const killed = ((acted.record.outcome as { data: { killed: Array<{ pid: number }> } }).data.killed ?? []).map((k) => k.pid);
    assert.deepEqual(killed, [burner.pid]);
    await waitFor(() => burner.exitCode !== null || burner.signalCode !== null, 5000, 'burner gone');
    assert.equal(isAlive(keeper.pid!), true, 'the excluded process is untouched');
    assert.match(String(acted.record.evidence), /top_proc_cpu_pct > 70 for 3 s/);
  });

  it('(d) a directory filling up is cleaned within its allow-list', async () => {
    const a = await startHealAgent({});
    await a.stop();
    const spool = join(a.dir, 'spool');
    const outside = join(a.dir, 'precious');
    mkdirSync(spool, { recursive: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'keep.dat'), 'must survive');
    symlinkSync(outside, join(spool, 'link-out'));
    const checker = `const fs=require('fs'),p=require('path');let s=0;for(const f of fs.readdirSync(process.argv[1],{withFileTypes:true}))if(f.isFile())s+=fs.statSync(p.join(process.argv[1],f.name)).size;process.exit(s>4*1048576?1:0)`;
    const agent = await startHealAgent(
      {
        probes: [{ name: 'spool-size', kind: 'command', argv: [process.execPath, '-e', checker, spool], intervalSec: 1, timeoutMs: 900 }],
        allow: { actions: ['clean_dir'], cleanDirs: [{ path: spool }] },
        policy: { rules: [{ id: 'clean-spool', symptom: { kind: 'probe_failing', probe: 'spool-size', k: 2, n: 3 }, action: { type: 'clean_dir', path: spool, olderThanSec: 0 }, guards: { cooldownSec: 5, verify: { windowSec: 15, settleSec: 1 } } }] },
      },
      { dir: a.dir },
    );
    running.push(agent);
    await runChaos('disk', { durationMs: 1000, dir: spool, mb: 8, rateMbPerSec: 100, keep: true });
    await agent.waitDecision('verified', 30_000);
    const acted = agent.decisions('acted')[0]!.record;
    assert.ok(((acted.outcome as { data: { files: number } }).data.files ?? 0) >= 4, JSON.stringify(acted.outcome));
    assert.ok(existsSync(spool), 'the directory itself stays');
    assert.equal(readdirSync(spool).filter((f) => f.startsWith('homeostat-chaos-')).length, 0);
    assert.equal(readFileSync(join(outside, 'keep.dat'), 'utf8'), 'must survive', 'nothing outside the allow-listed root was touched');
  });
});
