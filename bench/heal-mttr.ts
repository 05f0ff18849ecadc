// MTTD and MTTR of the heal scenarios (a)–(d) at 1 s sampling, probing and rule evaluation:
// a real agent in this process heals real child processes hurt by the real chaos injector.
// MTTD = fault → the agent records the symptom; MTTR = fault → the service works again, seen
// from outside (probe answers, process gone, directory small). Baseline from the same run: the
// bare remedy alone (restart, kill, delete) timed the same way, so the ratio is what detection,
// debouncing and guards add. Runs per scenario: HEAL_BENCH_RUNS (default 5).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runChaos, startChaos } from '../agent/chaos/run-chaos.ts';
import { cleanDir } from '../agent/heal/actions/clean-dir.ts';
import { CommandServiceAdapter } from '../agent/heal/services/command-service.ts';
import { isAlive } from '../agent/heal/services/linux-process.ts';
import { answers, demoDecl, killFromPidfile } from '../test/agent/heal/services/fixtures/demo.ts';
import { startHealAgent, type HealAgent } from '../test/e2e/support/heal-agent.ts';
import { freePort } from '../test/support/ports.ts';
import { waitFor } from '../test/support/wait.ts';
import { machineLine, median } from './machine.ts';

const RUNS = Number(process.env.HEAL_BENCH_RUNS ?? 5);
// stableSec 5 with 6 s between runs: each run is a fresh incident. (A service killed again within
// stableSec of its last recovery is a relapse and waits out a backoff first: crash-loop protection.)
const GUARDS = { cooldownSec: 1, verify: { windowSec: 20, settleSec: 1 }, backoff: { initialSec: 1, maxSec: 2 }, breaker: { failures: 100, openSec: 60 }, escalateAfterSec: 3600, stableSec: 5 };
const PAUSE_MS = 6000;
const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));

interface Sample {
  mttd: number;
  mttr: number;
}

/** Waits for `cond`, polling every 20 ms, and returns when it became true (ms since the epoch). */
async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  await waitFor(cond, timeoutMs, what, 20);
  return Date.now();
}

function symptomAfter(a: HealAgent, t0: number): number {
  return a.decisions('symptom').find((d) => d.ts >= t0)?.ts ?? Number.NaN;
}

async function demoService(rules: (svc: string) => unknown[]) {
  const port = await freePort();
  const probe = { name: 'demo-health', kind: 'http', url: `http://127.0.0.1:${port}/health`, intervalSec: 1, timeoutMs: 800, bodyMatch: '^ok' };
  const boot = await startHealAgent({});
  await boot.stop();
  const decl = demoDecl(boot.dir, port);
  const agent = await startHealAgent({ services: [{ ...decl, probe: 'demo-health' }], probes: [probe], allow: { actions: ['restart_service'] }, policy: { rules: rules('demo') } }, { dir: boot.dir });
  await agent.waitDecision('verified', 30_000); // the agent starts the service itself first
  return { agent, decl, port };
}

/**
 * RUNS times: wait until the demo answers and the agent is settled, inject the fault, time the
 * first moment `recovered` holds (MTTR) and the symptom's first record (MTTD), then undo the fault
 * (if it returned an undo) and wait for the agent to verify its recovery.
 */
async function healRuns(agent: HealAgent, port: number, fault: () => Promise<(() => Promise<void>) | void>, recovered: (t0: number) => Promise<boolean>): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    await until(() => answers(port), 30_000, 'demo answering');
    await pause();
    const verified = agent.decisions('verified').length;
    const t0 = Date.now();
    const undo = await fault();
    const up = await until(() => recovered(t0), 60_000, 'demo recovered');
    await undo?.();
    out.push({ mttd: symptomAfter(agent, t0) - t0, mttr: up - t0 });
    await waitFor(() => agent.decisions('verified').length > verified, 30_000, 'verified');
  }
  return out;
}

async function scenarioA(): Promise<{ healed: Sample[]; bare: number[] }> {
  const { agent, decl, port } = await demoService((svc) => [{ id: 'restart-demo', symptom: { kind: 'process_down', service: svc }, action: { type: 'restart_service', service: svc }, guards: GUARDS }]);
  const healed: Sample[] = [];
  const bare: number[] = [];
  try {
    healed.push(
      ...(await healRuns(agent, port, async () => void (await runChaos('kill', { pidfile: decl.pidfile })), () => answers(port))),
    );
    await agent.stop();
    const svc = new CommandServiceAdapter(decl);
    for (let i = 0; i < RUNS; i++) {
      await runChaos('kill', { pidfile: decl.pidfile }).catch(() => undefined);
      const t0 = Date.now();
      await svc.start();
      bare.push((await until(() => answers(port), 30_000, 'bare start')) - t0);
    }
  } finally {
    killFromPidfile(decl.pidfile);
  }
  return { healed, bare };
}

async function scenarioB(): Promise<{ healed: Sample[]; bare: number[] }> {
  const { agent, decl, port } = await demoService((svc) => [{ id: 'restart-demo', symptom: { kind: 'probe_failing', probe: 'demo-health', k: 2, n: 3 }, action: { type: 'restart_service', service: svc }, guards: GUARDS }]);
  const healed: Sample[] = [];
  const bare: number[] = [];
  try {
    healed.push(
      ...(await healRuns(
        agent,
        port,
        async () => {
          const hang = await startChaos('hang', { durationMs: 120_000, pidfile: decl.pidfile });
          return async () => {
            hang.stop();
            await hang.done;
          };
        },
        // A hung service still answers once the hang ends: only an answer after the agent acted counts.
        async (t0) => agent.decisions('acted').some((d) => d.ts >= t0) && (await answers(port)),
      )),
    );
    await agent.stop();
    const svc = new CommandServiceAdapter(decl);
    for (let i = 0; i < RUNS; i++) {
      const hang = await startChaos('hang', { durationMs: 120_000, pidfile: decl.pidfile });
      const t0 = Date.now();
      await svc.restart();
      bare.push((await until(() => answers(port), 30_000, 'bare restart')) - t0);
      hang.stop();
      await hang.done;
    }
  } finally {
    killFromPidfile(decl.pidfile);
  }
  return { healed, bare };
}

async function scenarioC(): Promise<{ healed: Sample[]; bare: number[] }> {
  const marker = `homeostat-bench-runaway-${process.pid}`;
  const burn = () => spawn(process.execPath, ['-e', `/*${marker}*/ const end = Date.now() + 120000; while (Date.now() < end) {}`], { stdio: 'ignore' });
  const agent = await startHealAgent({
    allow: { actions: ['kill_process'], kill: { patterns: [marker] } },
    policy: { rules: [{ id: 'kill-runaway', symptom: { kind: 'metric', feature: 'top_proc_cpu_pct', op: '>', value: 70, forSec: 3 }, action: { type: 'kill_process', target: { pattern: marker }, graceMs: 1000 }, guards: GUARDS }] },
  });
  const healed: Sample[] = [];
  const bare: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const t0 = Date.now();
      const p = burn();
      const gone = await until(() => p.exitCode !== null || p.signalCode !== null, 60_000, 'burner killed');
      healed.push({ mttd: symptomAfter(agent, t0) - t0, mttr: gone - t0 });
      await pause(); // let the CPU metric (a 5 s process scan) settle between runs
    }
  } finally {
    await agent.stop();
  }
  for (let i = 0; i < RUNS; i++) {
    const p = burn();
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    p.kill('SIGTERM');
    bare.push((await until(() => p.exitCode !== null || p.signalCode !== null || !isAlive(p.pid!), 10_000, 'bare kill')) - t0);
  }
  return { healed, bare };
}

async function scenarioD(): Promise<{ healed: Sample[]; bare: number[] }> {
  const boot = await startHealAgent({});
  await boot.stop();
  const spool = join(boot.dir, 'spool');
  mkdirSync(spool, { recursive: true });
  const size = () => readdirSync(spool).reduce((s, f) => s + statSync(join(spool, f)).size, 0);
  const LIMIT = 4 * 1048576;
  const checker = `const fs=require('fs'),p=require('path');let s=0;for(const f of fs.readdirSync(process.argv[1],{withFileTypes:true}))if(f.isFile())s+=fs.statSync(p.join(process.argv[1],f.name)).size;process.exit(s>${LIMIT}?1:0)`;
  const agent = await startHealAgent(
    {
      probes: [{ name: 'spool-size', kind: 'command', argv: [process.execPath, '-e', checker, spool], intervalSec: 1, timeoutMs: 900 }],
      allow: { actions: ['clean_dir'], cleanDirs: [{ path: spool }] },
      policy: { rules: [{ id: 'clean-spool', symptom: { kind: 'probe_failing', probe: 'spool-size', k: 2, n: 3 }, action: { type: 'clean_dir', path: spool, olderThanSec: 0 }, guards: GUARDS }] },
    },
    { dir: boot.dir },
  );
  const healed: Sample[] = [];
  const bare: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      await pause();
      const verified = agent.decisions('verified').length;
      await runChaos('disk', { durationMs: 300, dir: spool, mb: 8, rateMbPerSec: 200, keep: true });
      const t0 = Date.now(); // the fault: the directory is over its limit from here
      const ok = await until(() => size() <= LIMIT, 60_000, 'spool cleaned');
      healed.push({ mttd: symptomAfter(agent, t0 - 1000) - t0, mttr: ok - t0 });
      await waitFor(() => agent.decisions('verified').length > verified, 30_000, 'verified');
    }
  } finally {
    await agent.stop();
  }
  for (let i = 0; i < RUNS; i++) {
    await runChaos('disk', { durationMs: 300, dir: spool, mb: 8, rateMbPerSec: 200, keep: true });
    const t0 = Date.now();
    cleanDir({ path: spool, olderThanSec: 0 }, [{ path: spool }], { dryRun: false, signal: new AbortController().signal });
    bare.push(Date.now() - t0);
  }
  rmSync(boot.dir, { recursive: true, force: true });
  return { healed, bare };
}

const s = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const rows: string[] = [];
const scenarios = [
  ['(a) managed service killed → restart', scenarioA, '≤ 5 s'],
  ['(b) service hangs, probe fails → restart', scenarioB, '≤ 10 s'],
  ['(c) runaway CPU process → kill', scenarioC, '—'],
  ['(d) directory filling up → clean', scenarioD, '—'],
] as const;
for (const [name, run, target] of scenarios) {
  process.stderr.write(`heal-mttr: ${name}\n`);
  const { healed, bare } = await run();
  const mttd = median(healed.map((h) => h.mttd));
  const mttr = median(healed.map((h) => h.mttr));
  const base = median(bare);
  rows.push(`| ${name} | ${healed.length} | ${s(mttd)} | ${s(mttr)} | ${target} | ${s(Math.max(...healed.map((h) => h.mttr)))} | ${base < 10 ? `${base.toFixed(1)} ms` : s(base)} | ${base < 10 ? 'n/a: the remedy itself is instant' : `${(mttr / base).toFixed(1)}×`} |`);
}
console.log(`## Healing: time to detect and to recover (bench/heal-mttr.ts)

${machineLine()}

Sampling, probes and rule evaluation every 1 s (the defaults). MTTD: fault → the agent records the
symptom. MTTR: fault → the service works again, observed from outside. The symptom debounce is part
of both: (b) needs 2 failed probes of 3, (c) 3 s above 70 % of a core, (d) 2 failed size checks of 3.
Baseline: the bare remedy alone (start the killed service; restart the hung one; SIGTERM the
burner; delete the files), timed the same way in the same run.

| scenario | runs | MTTD (median) | MTTR (median) | target | MTTR (worst) | baseline: bare remedy | MTTR / baseline |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}`);
process.exit(0);
