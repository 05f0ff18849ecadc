import type { Migration } from '../../shared/store/sqlite.ts';

export const AGENT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- One row per sampler tick; v is the feature vector as little-endian float32 (56 bytes for v1).
      CREATE TABLE samples (
        ts INTEGER NOT NULL,
        feature_version INTEGER NOT NULL,
        v BLOB NOT NULL,
        -- set when the detector had an anomaly open: training skips these rows
        anomalous INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX samples_ts ON samples (ts);

      -- Local history of every event this agent emitted (the outbox only holds what is unsent).
      CREATE TABLE events (
        id TEXT PRIMARY KEY,
        ts INTEGER NOT NULL,
        corr TEXT NOT NULL,
        type TEXT NOT NULL,
        severity TEXT NOT NULL,
        summary TEXT NOT NULL,
        data TEXT NOT NULL,
        forwarded_at INTEGER
      );
      CREATE INDEX events_ts ON events (ts);

      -- Store-and-forward queue: a row leaves only when the broker acknowledged it.
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        msg_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('event', 'telemetry')),
        topic TEXT NOT NULL,
        payload TEXT NOT NULL,
        qos INTEGER NOT NULL,
        retain INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX outbox_kind ON outbox (kind, seq);

      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        corr TEXT,
        record TEXT NOT NULL
      );
      CREATE INDEX audit_ts ON audit (ts);
    `,
  },
  {
    version: 2,
    sql: `
      -- Heal journal: the intent is written before acting and the outcome after, so an agent that
      -- dies in between finds the open intent at start and reconciles instead of repeating.
      CREATE TABLE heal_journal (
        id TEXT PRIMARY KEY,
        -- the episode's correlation id, shared by every audit record and event of its story
        corr TEXT NOT NULL,
        ts INTEGER NOT NULL,
        rule_id TEXT NOT NULL,
        target TEXT NOT NULL,
        policy_version INTEGER NOT NULL,
        action TEXT NOT NULL,
        dry_run INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('intent', 'done', 'reconciled')),
        outcome TEXT,
        finished_at INTEGER
      );
      CREATE INDEX heal_journal_ts ON heal_journal (ts);
      CREATE INDEX heal_journal_open ON heal_journal (state) WHERE state = 'intent';

      CREATE INDEX audit_corr ON audit (corr);

      -- Guard state per rule and target (breaker, backoff, escalation): survives restarts.
      CREATE TABLE heal_tracks (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
];
