import { z } from 'zod';

/** One difference between two JSON values, at a path like `rules[id=restart-web].guards.cooldownSec`. */
export const JsonChangeSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('added'), path: z.string(), value: z.unknown() }),
  z.object({ op: z.literal('removed'), path: z.string(), value: z.unknown() }),
  z.object({ op: z.literal('changed'), path: z.string(), from: z.unknown(), to: z.unknown() }),
]);
export type JsonChange = z.infer<typeof JsonChangeSchema>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function keyPath(base: string, key: string): string {
  const seg = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  if (!base) return seg;
  return /^[A-Za-z_$]/.test(seg) ? `${base}.${seg}` : `${base}[${seg}]`;
}

/** The ids of an array whose elements are all objects with distinct string ids (policy rules), else null. */
function idsOf(a: unknown[]): string[] | null {
  const ids = a.map((x) => (isObj(x) && typeof x.id === 'string' ? x.id : null));
  if (ids.some((x) => x === null) || new Set(ids).size !== ids.length) return null;
  return ids as string[];
}

/**
 * A small structural diff: which paths were added, removed or changed. Arrays of objects with
 * unique `id`s (a policy's rules) are matched by id, so inserting a rule at the top shows as one
 * added rule, not every rule below it changed; a new order of the same ids is one change.
 */
export function diffJson(before: unknown, after: unknown, path = ''): JsonChange[] {
  if (isObj(before) && isObj(after)) {
    const out: JsonChange[] = [];
    for (const k of Object.keys(before)) {
      if (!(k in after)) out.push({ op: 'removed', path: keyPath(path, k), value: before[k] });
      else out.push(...diffJson(before[k], after[k], keyPath(path, k)));
    }
    for (const k of Object.keys(after)) if (!(k in before)) out.push({ op: 'added', path: keyPath(path, k), value: after[k] });
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const [bi, ai] = [idsOf(before), idsOf(after)];
    if (bi && ai && (bi.length || ai.length)) {
      const out: JsonChange[] = [];
      const at = (id: string) => `${path}[id=${id}]`;
      for (const [i, id] of bi.entries()) {
        const j = ai.indexOf(id);
        if (j < 0) out.push({ op: 'removed', path: at(id), value: before[i] });
        else out.push(...diffJson(before[i], after[j], at(id)));
      }
      for (const [j, id] of ai.entries()) if (!bi.includes(id)) out.push({ op: 'added', path: at(id), value: after[j] });
      const common = (xs: string[], ys: string[]) => xs.filter((x) => ys.includes(x));
      if (common(bi, ai).join('\0') !== common(ai, bi).join('\0')) out.push({ op: 'changed', path: `${path || '(root)'} (order)`, from: bi, to: ai });
      return out;
    }
    const out: JsonChange[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const p = `${path}[${i}]`;
      if (i >= after.length) out.push({ op: 'removed', path: p, value: before[i] });
      else if (i >= before.length) out.push({ op: 'added', path: p, value: after[i] });
      else out.push(...diffJson(before[i], after[i], p));
    }
    return out;
  }
  return Object.is(before, after) || JSON.stringify(before) === JSON.stringify(after) ? [] : [{ op: 'changed', path: path || '(root)', from: before, to: after }];
}

/** One line per change: `+ path: value`, `- path: value`, `~ path: from → to`. */
export function formatDiff(changes: readonly JsonChange[]): string {
  if (!changes.length) return '(no changes)';
  const v = (x: unknown) => JSON.stringify(x);
  return changes
    .map((c) => (c.op === 'added' ? `+ ${c.path}: ${v(c.value)}` : c.op === 'removed' ? `- ${c.path}: ${v(c.value)}` : `~ ${c.path}: ${v(c.from)} → ${v(c.to)}`))
    .join('\n');
}
