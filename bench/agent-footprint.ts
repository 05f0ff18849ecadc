// The agent's steady-state cost at 1 Hz sampling: CPU (% of one core) and RSS over a window,
// next to a baseline measured in the same run: a bare Node process that reads /proc/stat once a
// second. Runs the bundled agent (dist/homeostat-agent.mjs, what a node would deploy) against a
// coordinator with the embedded broker. BENCH_SECONDS sets the window (default 60).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../coordinator/coordinator.ts';
import { loadCoordinatorConfig } from '../coordinator/config.ts';
import { silentLogger } from '../shared/observe/log.ts';
import { machineLine } from './machine.ts';
import { watch } from './proc-usage.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-'));

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'ignore' });

async function measure(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited early with code ${code}`))));
  try {
    return await Promise.race([watch(child.pid!, seconds), exited]);
  } finally {
    if (child.exitCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    }
  }
}

const baseline = await measure(['-e', "const fs=require('fs');setInterval(()=>fs.readFileSync('/proc/stat','utf8'),1000)"]);

const coordinator = new Coordinator(
  loadCoordinatorConfig(undefined, { dataDir: join(dir, 'coordinator'), broker: { embedded: { host: '127.0.0.1', port: 0 } }, api: { host: '127.0.0.1', port: 0, adminToken: 'bench-only-admin-token-00' } }),
  { log: silentLogger },
);
await coordinator.start();
async function agentWith(detection: boolean) {
  const cfg = join(dir, `agent-${detection}.json`);
  writeFileSync(cfg, JSON.stringify({ dataDir: join(dir, `agent-${detection}`), broker: { url: coordinator.brokerUrl }, detect: { enabled: detection } }));
  return measure(['dist/homeostat-agent.mjs', '-c', cfg], { HOMEOSTAT_LOG_LEVEL: 'warn' });
}
const foundation = await agentWith(false);
const agent = await agentWith(true);
await coordinator.stop();

const f = (n: number) => n.toFixed(2);
console.log(`## Agent footprint (1 Hz sampling, ${seconds} s window after 5 s warm-up)

${machineLine()}

| process | CPU % of one core | RSS avg MiB | RSS max MiB |
|---|---|---|---|
| baseline: bare Node reading /proc/stat at 1 Hz | ${f(baseline.cpuPct)} | ${f(baseline.rssAvg)} | ${f(baseline.rssMax)} |
| agent without detection (dist/homeostat-agent.mjs) | ${f(foundation.cpuPct)} | ${f(foundation.rssAvg)} | ${f(foundation.rssMax)} |
| agent with detection (base model, ONNX runtime, 1 thread) | ${f(agent.cpuPct)} | ${f(agent.rssAvg)} | ${f(agent.rssMax)} |
| ratio agent with detection / bare Node | ${f(agent.cpuPct / Math.max(baseline.cpuPct, 0.01))}× | ${f(agent.rssAvg / baseline.rssAvg)}× | |
| ratio with / without detection | ${f(agent.cpuPct / Math.max(foundation.cpuPct, 0.01))}× | ${f(agent.rssAvg / foundation.rssAvg)}× | |

Targets (foundation): agent CPU ≤ 1 % of one core, RSS ≤ 100 MB. Without detection: ${foundation.cpuPct <= 1 && foundation.rssMax <= 100 ? 'both met' : 'NOT met'}; with detection: ${agent.cpuPct <= 1 && agent.rssMax <= 100 ? 'both met' : 'NOT met'} in this run.
`);
