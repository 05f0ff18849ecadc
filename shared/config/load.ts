import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

/** A config that cannot be used; the message is one line naming the file, the field and the fix. */
export class ConfigError extends Error {}

function describe(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') return `${path}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove them or check the spelling`;
  return `${path}: ${issue.message}`;
}

/**
 * Reads a YAML or JSON config file (JSON is YAML) and validates it with `schema`. A missing file
 * is an error only when the user named it; defaults then apply. Every problem is reported, not
 * just the first, because fixing configs one error per run is maddening.
 */
export function loadConfig<S extends z.ZodType>(schema: S, path: string | undefined, overrides: Record<string, unknown> = {}): z.output<S> {
  let raw: unknown = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(`config ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check the path`);
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (e) {
      throw new ConfigError(`config ${path}: not valid YAML/JSON (${(e as Error).message.split('\n')[0]}): fix the syntax`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`config ${path}: expected a mapping of settings at the top level`);
  }
  const merged = deepMerge(raw as Record<string, unknown>, overrides);
  const r = schema.safeParse(merged);
  if (!r.success) {
    throw new ConfigError(`config ${path ?? '(defaults)'}: ${r.error.issues.map(describe).join('; ')}`);
  }
  return r.data;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur) ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
