import type { Action, ActionOutcome } from '../../shared/policy/actions.ts';
import type { Db } from '../../shared/store/sqlite.ts';
import { newTrack, type TrackState } from './guards.ts';

export interface Intent {
  id: string;
  corr: string;
  ts: number;
  ruleId: string;
  target: string;
  policyVersion: number;
  action: Action;
  dryRun: boolean;
}

/**
 * The heal journal and guard state in the agent's sqlite file. Every write is one statement, so
 * it is atomic: an intent is either recorded or not, never half.
 */
export class HealJournal {
  private readonly stmt;

  constructor(db: Db) {
    this.stmt = {
      intent: db.prepare(`INSERT INTO heal_journal (id, corr, ts, rule_id, target, policy_version, action, dry_run, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'intent')`),
      finish: db.prepare(`UPDATE heal_journal SET state = ?, outcome = ?, finished_at = ? WHERE id = ? AND state = 'intent'`),
      open: db.prepare(`SELECT id, corr, ts, rule_id, target, policy_version, action, dry_run FROM heal_journal WHERE state = 'intent' ORDER BY ts`),
      actedSince: db.prepare(`SELECT ts FROM heal_journal WHERE ts > ? AND dry_run = 0 ORDER BY ts`),
      track: db.prepare('SELECT state FROM heal_tracks WHERE key = ?'),
      saveTrack: db.prepare('INSERT INTO heal_tracks (key, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at'),
      deleteTrack: db.prepare('DELETE FROM heal_tracks WHERE key = ?'),
    };
  }

  writeIntent(i: Intent): void {
    this.stmt.intent.run(i.id, i.corr, i.ts, i.ruleId, i.target, i.policyVersion, JSON.stringify(i.action), i.dryRun ? 1 : 0);
  }

  finish(id: string, outcome: ActionOutcome, at: number, state: 'done' | 'reconciled' = 'done'): void {
    this.stmt.finish.run(state, JSON.stringify(outcome), at, id);
  }

  openIntents(): Intent[] {
    const rows = this.stmt.open.all() as Array<{ id: string; corr: string; ts: number; rule_id: string; target: string; policy_version: number; action: string; dry_run: number }>;
    return rows.map((r) => ({ id: r.id, corr: r.corr, ts: r.ts, ruleId: r.rule_id, target: r.target, policyVersion: r.policy_version, action: JSON.parse(r.action) as Action, dryRun: r.dry_run === 1 }));
  }

  /** Timestamps of real (not dry-run) actions after `since`: the rate limit's memory across restarts. */
  actedSince(since: number): number[] {
    return (this.stmt.actedSince.all(since) as Array<{ ts: number }>).map((r) => r.ts);
  }

  track(key: string): TrackState {
    const row = this.stmt.track.get(key) as { state: string } | undefined;
    return row ? { ...newTrack(), ...(JSON.parse(row.state) as Partial<TrackState>) } : newTrack();
  }

  /** `state` is the TrackState as JSON (the engine keeps the last one written, to skip unchanged writes). */
  saveTrack(key: string, state: string, now: number): void {
    this.stmt.saveTrack.run(key, state, now);
  }

  deleteTrack(key: string): void {
    this.stmt.deleteTrack.run(key);
  }
}
