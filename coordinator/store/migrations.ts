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
];
