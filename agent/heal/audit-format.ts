import type { Decision } from '../../shared/policy/decision.ts';
import type { AuditRecord } from '../store/store.ts';

/** `since`: a duration back from now ("2h", "30m") or a date ("2026-11-23T02:00"). */
export function parseSince(text: string, now = Date.now()): number {
  const d = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$/.exec(text);
  if (d) return now - Math.round(Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[d[2] as 's' | 'm' | 'h' | 'd']);
  const t = Date.parse(text);
  if (Number.isFinite(t)) return t;
  throw new Error(`--since ${JSON.stringify(text)}: expected a duration back from now (30m, 2h, 1d) or a date (2026-11-23T02:00)`);
}

function stamp(ts: number, utc: boolean): string {
  const d = new Date(ts);
  if (utc) return d.toISOString().replace('T', ' ').slice(0, 19);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The audit log for a person: one line per decision (time, rule, decision, what), then why
 * (the evidence) and what came of it, indented. Episodes are tagged with the last 8 characters
 * of their correlation id (its random part), so one incident's lines can be followed (or filtered with --corr).
 */
export function formatAudit(rows: readonly AuditRecord[], o: { utc?: boolean } = {}): string {
  if (rows.length === 0) return 'no heal decisions recorded in this period\n';
  const out: string[] = [];
  for (const r of rows) {
    const d = r.record as Partial<Decision>;
    const rule = d.ruleId ?? '-';
    const tag = r.corr ? r.corr.slice(-8) : '';
    out.push(`${stamp(r.ts, o.utc ?? false)}  ${tag.padEnd(8)}  ${rule.padEnd(20)}  ${r.kind.padEnd(18)}  ${d.detail ?? ''}`);
    const pad = ' '.repeat(21);
    if (d.evidence && r.kind !== 'symptom') out.push(`${pad}because: ${d.evidence}`);
    if (d.outcome && r.kind !== 'acted') out.push(`${pad}outcome: ${d.outcome.ok ? 'ok' : 'failed'}: ${d.outcome.detail}`);
    if (d.guard) out.push(`${pad}guard: ${d.guard}`);
    if (d.policyVersion !== undefined && (r.kind === 'acted' || r.kind === 'escalated')) out.push(`${pad}policy: v${d.policyVersion}${d.target ? `, target ${d.target}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}
