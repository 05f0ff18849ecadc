import { isAbsolute, relative, resolve } from 'node:path';
import type { Action } from '../../shared/policy/actions.ts';
import type { Policy, Rule, Symptom } from '../../shared/policy/policy.ts';
import type { HealConfig } from './config.ts';

/** A policy that asks for more than the device owner allows: refused whole, never half-applied. */
export class PolicyRefusedError extends Error {
  readonly expected = true;
  constructor(
    readonly version: number,
    readonly problems: string[],
  ) {
    super(`policy v${version} refused: ${problems.join('; ')}`);
  }
}

/** Whether `p` is `root` or lies inside it, lexically (clean_dir itself refuses symlinks leading out). */
export function insideRoot(p: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(p));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function actionProblems(a: Action, heal: HealConfig): string[] {
  const allow = heal.allow;
  if (!allow.actions.includes(a.type)) return [`action ${a.type} is not allowed on this node (allowed: ${allow.actions.join(', ') || 'none'})`];
  switch (a.type) {
    case 'restart_service':
      return heal.services.some((s) => s.name === a.service) ? [] : [`service "${a.service}" is not a managed service here (declared: ${heal.services.map((s) => s.name).join(', ') || 'none'})`];
    case 'run_command':
      return Object.hasOwn(allow.commands, a.command) ? [] : [`command "${a.command}" is not in the local command table (known: ${Object.keys(allow.commands).join(', ') || 'none'})`];
    case 'clean_dir':
      return allow.cleanDirs.some((r) => insideRoot(a.path, r.path)) ? [] : [`path ${a.path} is outside the allowed clean_dir roots (${allow.cleanDirs.map((r) => r.path).join(', ') || 'none'})`];
    case 'kill_process': {
      const t = a.target;
      if ('pattern' in t) return allow.kill.patterns.includes(t.pattern) ? [] : [`kill pattern ${JSON.stringify(t.pattern)} is not allowed (allowed: ${allow.kill.patterns.map((p) => JSON.stringify(p)).join(', ') || 'none'})`];
      return allow.kill.top.includes(t.top) ? [] : [`killing the top ${t.top} consumer is not allowed (allowed: ${allow.kill.top.join(', ') || 'none'})`];
    }
    case 'notify':
      return [];
  }
}

function symptomProblems(s: Symptom, heal: HealConfig, features: readonly string[]): string[] {
  switch (s.kind) {
    case 'probe_failing':
      return heal.probes.some((p) => p.name === s.probe) ? [] : [`probe "${s.probe}" is not declared here (declared: ${heal.probes.map((p) => p.name).join(', ') || 'none'})`];
    case 'process_down':
      return heal.services.some((x) => x.name === s.service) ? [] : [`service "${s.service}" is not a managed service here`];
    case 'metric':
      return features.includes(s.feature) ? [] : [`feature "${s.feature}" is not in this agent's feature vector (see docs/features.md)`];
    case 'anomaly':
      return s.topFeature === undefined || features.includes(s.topFeature) ? [] : [`feature "${s.topFeature}" is not in this agent's feature vector (see docs/features.md)`];
  }
}

function ruleProblems(r: Rule, heal: HealConfig, features: readonly string[]): string[] {
  const where = `rule "${r.id}"`;
  return [
    ...symptomProblems(r.symptom, heal, features).map((m) => `${where}.symptom: ${m}`),
    ...actionProblems(r.action, heal).map((m) => `${where}.action: ${m}`),
  ];
}

/** Throws PolicyRefusedError listing every problem (all of them, so one push can fix them all). */
export function checkCeiling(policy: Policy, heal: HealConfig, features: readonly string[]): void {
  const problems = policy.rules.flatMap((r) => ruleProblems(r, heal, features));
  if (problems.length) throw new PolicyRefusedError(policy.version, problems);
}
