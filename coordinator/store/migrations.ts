import type { Migration } from '../../shared/store/sqlite.ts';

export const COORDINATOR_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('online', 'offline', 'unknown')),
        state_reason TEXT,
        cohort TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        status_ts INTEGER NOT NULL DEFAULT 0,
        agent_version TEXT,
        feature_version INTEGER,
        model_version TEXT,
        policy_version INTEGER,
        host TEXT,
        started_at INTEGER,
        telemetry_ts INTEGER,
        telemetry TEXT
      );

      CREATE TABLE telemetry (
        msg_id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX telemetry_agent_ts ON telemetry (agent_id, ts);

      -- msg_id is the idempotency key: a redelivered event is the same row.
      CREATE TABLE events (
        msg_id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        corr TEXT NOT NULL,
        ts INTEGER NOT NULL,
        type TEXT NOT NULL,
        severity TEXT NOT NULL,
        summary TEXT NOT NULL,
        data TEXT NOT NULL,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX events_ts ON events (ts, msg_id);
      CREATE INDEX events_agent_ts ON events (agent_id, ts, msg_id);
    `,
  },
  {
    version: 2,
    sql: `
      -- Federated rounds (coordinator/federation/round-store.ts). A round's state lives here, so a
      -- coordinator restarted mid-round resumes it (deadline ahead) or closes it (deadline passed).
      CREATE TABLE fed_rounds (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
        announce TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        deadline INTEGER NOT NULL,
        closed_at INTEGER,
        outcome TEXT CHECK (outcome IN ('published', 'below_minimum', 'failed')),
        note TEXT,
        summary TEXT,
        model_version INTEGER
      );

      -- One accepted update per agent and round: the HSU1 bytes as received.
      CREATE TABLE fed_updates (
        round_id TEXT NOT NULL REFERENCES fed_rounds (id),
        agent_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        num_samples INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        payload BLOB NOT NULL,
        PRIMARY KEY (round_id, agent_id)
      );

      -- Updates refused after decoding (wrong round, not sampled, duplicate, late, wrong shape...).
      CREATE TABLE fed_rejections (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        round_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX fed_rejections_round ON fed_rejections (round_id, seq);

      -- Every global model the coordinator published (version 0 is the base it started from).
      CREATE TABLE fed_models (
        version INTEGER PRIMARY KEY,
        round_id TEXT,
        sha256 TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        onnx BLOB NOT NULL
      );
    `,
  },
  {
    version: 3,
    sql: `
      -- Heal policy history (coordinator/policy/store.ts): every pushed version, one sequence
      -- across cohorts. The message column is the signed envelope as first published, republished
      -- verbatim on every connect (the embedded broker forgets retained messages).
      CREATE TABLE policies (
        version INTEGER PRIMARY KEY,
        cohort TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        previous INTEGER,
        policy TEXT NOT NULL,
        diff TEXT NOT NULL,
        message TEXT NOT NULL
      );
      CREATE INDEX policies_cohort ON policies (cohort, version);
    `,
  },
];
