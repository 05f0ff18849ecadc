import type { Counters } from '../../../shared/observe/counters.ts';
import { silentLogger, type Logger } from '../../../shared/observe/log.ts';
import { runProbe } from '../probes/run-probe.ts';
import type { Probe } from '../probes/schema.ts';
import { createServiceAdapter } from '../services/create-adapter.ts';
import { isAlive } from '../services/linux-process.ts';
import type { ManagedService } from '../services/schema.ts';
import type { ServiceAdapter } from '../services/service.ts';
import type { SystemdOptions } from '../services/systemd-service.ts';
import { CleanRefusedError, cleanDir, cleanDirState, type CleanDeps, type CleanRoot } from './clean-dir.ts';
import type { Action, ActionOutcome } from '../../../shared/policy/actions.ts';
import type { ActionExecutor, ExecuteContext } from '../executor.ts';
import { ProcessKiller, ProcessSelectionError, report, type Candidate, type KillOptions, type KillReport } from './kill-process.ts';
import { runArgv } from './run-argv.ts';

/** run_command's default bound; a heal command that needs longer belongs in a service. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
/** Output kept in an outcome (and so in the audit record and the event) per stream. */
export const COMMAND_OUTPUT_BYTES = 2 * 1024;

/** The owner's local table and lists the executor acts within; the guards helper's local config feeds it. */
export interface LocalExecutorOptions {
  services?: readonly ManagedService[];
  probes?: readonly Probe[];
  /** run_command's allow-list: name → argv. Never a shell string. */
  commands?: Readonly<Record<string, readonly string[]>>;
  commandTimeoutMs?: number;
  cleanDirs?: readonly CleanRoot[];
  kill?: KillOptions;
  clean?: CleanDeps;
  /** Where systemctl and the sd_booted marker are (tests point them at fakes). */
  systemd?: SystemdOptions;
  log?: Logger;
  counters?: Counters;
}

/** The action names something the local config does not have: refused, nothing done. */
export class ActionRefusedError extends Error {
  readonly expected = true;
}

type Kill = Extract<Action, { type: 'kill_process' }>;

/**
 * Acts on this host. Every action is checked against the local lists again here, whatever the
 * engine checked before (the executor is the last line, and a bug upstream must not widen what
 * it may do). Never throws for an action that failed: the outcome says what happened.
 */
export class LocalActionExecutor implements ActionExecutor {
  private readonly adapters = new Map<string, ServiceAdapter>();
  private readonly serviceProbe = new Map<string, Probe>();
  private readonly killer: ProcessKiller;
  private readonly log: Logger;
  /** pid + start time of the last process each kill target took, so targetState can ask "is it gone". */
  private readonly lastKilled = new Map<string, Array<{ pid: number; startTicks: number }>>();

  constructor(private readonly o: LocalExecutorOptions = {}) {
    this.log = o.log ?? silentLogger;
    const probes = new Map((o.probes ?? []).map((p) => [p.name, p]));
    for (const s of o.services ?? []) {
      this.adapters.set(s.name, createServiceAdapter(s, o.systemd ? { systemd: o.systemd } : {}));
      if (s.probe) {
        const p = probes.get(s.probe);
        if (!p) throw new Error(`service "${s.name}" names probe "${s.probe}", which is not declared: declare it or remove the reference`);
        this.serviceProbe.set(s.name, p);
      }
    }
    this.killer = new ProcessKiller(o.kill);
    o.counters?.define('homeostat_heal_actions_total', 'Actions executed (or dry-run) by type and result');
  }

  /** The declared services' adapters, shared with the symptom evaluator (one adapter per service). */
  get services(): ReadonlyMap<string, ServiceAdapter> {
    return this.adapters;
  }

  async execute(action: Action, ctx: ExecuteContext): Promise<ActionOutcome> {
    let out: ActionOutcome;
    try {
      ctx.signal.throwIfAborted();
      out = await this.dispatch(action, ctx);
    } catch (e) {
      const err = e as Error;
      const expected = err instanceof CleanRefusedError || err instanceof ProcessSelectionError || (err as { expected?: boolean }).expected === true;
      if (!expected) this.log.error({ correlationId: ctx.correlationId, action, err: err.message }, 'action failed');
      out = { ok: false, detail: ctx.signal.aborted ? `cancelled: ${err.message}` : err.message, data: { error: err.name } };
    }
    if (ctx.dryRun) out = { ...out, data: { ...out.data, dryRun: true } };
    this.o.counters?.inc('homeostat_heal_actions_total', { type: action.type, result: ctx.dryRun ? 'dry_run' : out.ok ? 'ok' : 'failed' });
    return out;
  }

  async targetState(action: Action): Promise<{ healthy: boolean; detail: string }> {
    try {
      switch (action.type) {
        case 'restart_service':
          return await this.serviceState(action.service);
        case 'kill_process':
          return await this.killState(action);
        case 'clean_dir':
          return cleanDirState(action, this.o.cleanDirs ?? [], this.o.clean);
        case 'run_command':
          return { healthy: true, detail: `run_command "${action.command}" leaves no state to check: the rule's symptom decides` };
        case 'notify':
          return { healthy: true, detail: 'notify has no target' };
      }
    } catch (e) {
      return { healthy: false, detail: `cannot check: ${(e as Error).message}` };
    }
  }

  private dispatch(a: Action, ctx: ExecuteContext): Promise<ActionOutcome> {
    switch (a.type) {
      case 'restart_service':
        return this.restart(a.service, ctx);
      case 'kill_process':
        return this.killProcess(a, ctx);
      case 'clean_dir': {
        const r = cleanDir(a, this.o.cleanDirs ?? [], { dryRun: ctx.dryRun, signal: ctx.signal, ...this.o.clean });
        const { detail, ok, deleted, ...data } = r;
        return Promise.resolve({ ok, detail, data: { ...data, deleted: deleted.slice(0, 50) } });
      }
      case 'run_command':
        return this.runCommand(a.command, ctx);
      case 'notify':
        return Promise.resolve({ ok: true, detail: `notified: ${a.message}` });
    }
  }

  private adapter(name: string): ServiceAdapter {
    const a = this.adapters.get(name);
    if (!a) {
      throw new ActionRefusedError(`service "${name}" is not declared in the local config (declared: ${[...this.adapters.keys()].join(', ') || 'none'})`);
    }
    return a;
  }

  private async restart(name: string, ctx: ExecuteContext): Promise<ActionOutcome> {
    const svc = this.adapter(name);
    if (ctx.dryRun) {
      const s = await svc.status(ctx.signal);
      return { ok: true, detail: `dry-run: would restart ${svc.kind} service "${name}" (${s.detail})`, data: { service: name, ...(s.pid ? { pid: s.pid } : {}) } };
    }
    const r = await svc.restart(ctx.signal);
    return {
      ok: r.running,
      detail: `restarted ${svc.kind} service "${name}": ${r.detail}`,
      data: { service: name, ...(r.pid ? { pid: r.pid } : {}), ...(r.previousPid ? { previousPid: r.previousPid } : {}) },
    };
  }

  private async serviceState(name: string): Promise<{ healthy: boolean; detail: string }> {
    const s = await this.adapter(name).status();
    if (!s.running) return { healthy: false, detail: `service "${name}": ${s.detail}` };
    const probe = this.serviceProbe.get(name);
    if (!probe) return { healthy: true, detail: `service "${name}": ${s.detail} (no probe declared)` };
    const p = await runProbe(probe);
    return { healthy: p.ok, detail: `service "${name}": ${s.detail}; probe "${probe.name}": ${p.detail}` };
  }

  private async select(a: Kill, signal: AbortSignal): Promise<Candidate[]> {
    const t = a.target;
    if ('pattern' in t) return this.killer.byPattern(t.pattern);
    if (t.top === 'cpu') {
      const top = await this.killer.topCpu(signal);
      const min = this.killer.minTopCpuPct();
      if (!top || top.cpuPct! < min) {
        throw new ProcessSelectionError(`kill_process top cpu: no killable process uses ≥ ${min}% of a core (top: ${top ? `${top.comm} pid ${top.pid} at ${top.cpuPct!.toFixed(1)}%` : 'none'}): nothing killed`);
      }
      return [top];
    }
    const top = this.killer.topMemory();
    if (!top) throw new ProcessSelectionError('kill_process top memory: no killable process found: nothing killed');
    return [top];
  }

  private async killProcess(a: Kill, ctx: ExecuteContext): Promise<ActionOutcome> {
    const chosen = await this.select(a, ctx.signal);
    const what = 'pattern' in a.target ? `matching /${a.target.pattern}/` : `top ${a.target.top}`;
    if (chosen.length === 0) return { ok: true, detail: `no killable process ${what}: nothing to do`, data: { killed: [] } };
    if (ctx.dryRun) {
      const would = chosen.map(report);
      return { ok: true, detail: `dry-run: would kill ${describe(would)} (${what})`, data: { wouldKill: would } };
    }
    const killed: KillReport[] = [];
    for (const p of chosen) killed.push(await this.killer.kill(p, a.graceMs, ctx.signal));
    this.lastKilled.set(killKey(a), chosen.map((p) => ({ pid: p.pid, startTicks: p.startTicks })));
    return { ok: true, detail: `killed ${describe(killed)} (${what})`, data: { killed } };
  }

  private async killState(a: Kill): Promise<{ healthy: boolean; detail: string }> {
    const still = (this.lastKilled.get(killKey(a)) ?? []).filter((p) => isAlive(p.pid, p.startTicks));
    if (still.length) return { healthy: false, detail: `killed process(es) still alive: pid ${still.map((p) => p.pid).join(', ')}` };
    const t = a.target;
    if ('pattern' in t) {
      const left = this.killer.byPattern(t.pattern);
      return { healthy: left.length === 0, detail: left.length ? `still running /${t.pattern}/: ${describe(left.map(report))}` : `no killable process matches /${t.pattern}/` };
    }
    if (t.top === 'cpu') {
      const top = await this.killer.topCpu();
      const min = this.killer.minTopCpuPct();
      const healthy = !top || top.cpuPct! < min;
      return { healthy, detail: top ? `top cpu: ${top.comm} pid ${top.pid} at ${top.cpuPct!.toFixed(1)}% of a core (runaway ≥ ${min}%)` : 'no killable process' };
    }
    const top = this.killer.topMemory();
    const max = this.killer.maxRssBytes();
    const healthy = !top || top.rssBytes! < max;
    return { healthy, detail: top ? `top memory: ${top.comm} pid ${top.pid} with ${mb(top.rssBytes!)} MB RSS (runaway ≥ ${mb(max)} MB)` : 'no killable process' };
  }

  private async runCommand(name: string, ctx: ExecuteContext): Promise<ActionOutcome> {
    const table = this.o.commands ?? {};
    const argv = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!argv || argv.length === 0) {
      return { ok: false, detail: `run_command: "${name}" is not in the local command table (known: ${Object.keys(table).join(', ') || 'none'}); nothing run`, data: { refused: true } };
    }
    if (ctx.dryRun) return { ok: true, detail: `dry-run: would run ${JSON.stringify(argv)}`, data: { argv } };
    const timeoutMs = this.o.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const r = await runArgv(argv, { timeoutMs, signal: ctx.signal, maxOutputBytes: COMMAND_OUTPUT_BYTES });
    const how = r.cancelled ? 'cancelled (killed)' : r.timedOut ? `timed out after ${timeoutMs} ms (killed)` : r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`;
    return {
      ok: r.code === 0 && !r.timedOut && !r.cancelled,
      detail: `ran "${name}" ${JSON.stringify(argv)}: ${how}`,
      data: { argv, exitCode: r.code, signal: r.signal, timedOut: r.timedOut, cancelled: r.cancelled, stdout: r.stdout, stderr: r.stderr, truncatedBytes: r.truncatedBytes, ms: Math.round(r.latencyMs) },
    };
  }
}

function killKey(a: Kill): string {
  return 'pattern' in a.target ? `pattern:${a.target.pattern}` : `top:${a.target.top}`;
}

function describe(r: KillReport[]): string {
  return r
    .map((k) => `pid ${k.pid} (${k.comm}${k.cpuPct !== undefined ? `, ${k.cpuPct}% cpu` : ''}${k.rssBytes !== undefined ? `, ${mb(k.rssBytes)} MB rss` : ''}${k.how ? `, ${k.how.replace(/_/g, ' ')}` : ''})`)
    .join(', ');
}

function mb(b: number): number {
  return Math.round(b / 1048576);
}
