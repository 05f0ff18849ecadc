import type { Db } from '../../shared/store/sqlite.ts';
import { JsonChangeSchema, type JsonChange } from './diff.ts';

/** One pushed policy version, as history shows it. */
export interface PolicyVersion {
  version: number;
  cohort: string;
  author: string;
  createdAt: number;
  /** The cohort's version this one replaced (what `diff` is against), null for its first. */
  previous: number | null;
  diff: JsonChange[];
}

export interface PolicyRecord extends PolicyVersion {
  /** The policy as pushed (validated, without a version: the coordinator assigns that). */
  policy: Record<string, unknown>;
}

type Row = { version: number; cohort: string; author: string; created_at: number; previous: number | null; diff: string; policy?: string };

function toVersion(r: Row): PolicyVersion {
  return { version: r.version, cohort: r.cohort, author: r.author, createdAt: r.created_at, previous: r.previous, diff: JsonChangeSchema.array().parse(JSON.parse(r.diff)) };
}

/**
 * Every policy version ever pushed, with its signed message (the `policies` table, coordinator
 * migration 3). Versions are one sequence across cohorts, so `policy show N` needs no cohort and
 * an agent that moves to another cohort still only ever sees versions go up.
 */
export class PolicyStore {
  private readonly s;

  constructor(readonly db: Db) {
    this.s = {
      next: db.prepare('SELECT coalesce(max(version), 0) + 1 AS v FROM policies'),
      latest: db.prepare('SELECT * FROM policies WHERE cohort = ? ORDER BY version DESC LIMIT 1'),
      latestMessages: db.prepare('SELECT p.cohort, p.message FROM policies p WHERE p.version = (SELECT max(version) FROM policies q WHERE q.cohort = p.cohort) ORDER BY p.cohort'),
      insert: db.prepare('INSERT INTO policies (version, cohort, author, created_at, previous, policy, diff, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      get: db.prepare('SELECT * FROM policies WHERE version = ?'),
      all: db.prepare('SELECT version, cohort, author, created_at, previous, diff FROM policies ORDER BY version'),
      ofCohort: db.prepare('SELECT version, cohort, author, created_at, previous, diff FROM policies WHERE cohort = ? ORDER BY version'),
    };
  }

  latest(cohort: string): PolicyRecord | null {
    const r = this.s.latest.get(cohort) as (Row & { policy: string }) | undefined;
    return r ? { ...toVersion(r), policy: JSON.parse(r.policy) as Record<string, unknown> } : null;
  }

  get(version: number): PolicyRecord | null {
    const r = this.s.get.get(version) as (Row & { policy: string }) | undefined;
    return r ? { ...toVersion(r), policy: JSON.parse(r.policy) as Record<string, unknown> } : null;
  }

  history(cohort?: string): PolicyVersion[] {
    return ((cohort === undefined ? this.s.all.all() : this.s.ofCohort.all(cohort)) as Row[]).map(toVersion);
  }

  /** The signed message of each cohort's latest version, as first published (republished at start). */
  latestMessages(): Array<{ cohort: string; message: string }> {
    return this.s.latestMessages.all() as Array<{ cohort: string; message: string }>;
  }

  /**
   * Assigns the next version and stores it in one transaction; `build` turns the version into
   * the signed message (it may throw, e.g. a policy too large to send, and nothing is stored).
   */
  append(
    input: { cohort: string; author: string; createdAt: number; policy: Record<string, unknown> },
    build: (version: number, previous: PolicyRecord | null) => { message: string; diff: JsonChange[] },
  ): PolicyRecord {
    return this.db.transaction(() => {
      const version = (this.s.next.get() as { v: number }).v;
      const prev = this.latest(input.cohort);
      const { message, diff } = build(version, prev);
      this.s.insert.run(version, input.cohort, input.author, input.createdAt, prev?.version ?? null, JSON.stringify(input.policy), JSON.stringify(diff), message);
      return { version, cohort: input.cohort, author: input.author, createdAt: input.createdAt, previous: prev?.version ?? null, diff, policy: input.policy };
    })();
  }
}
