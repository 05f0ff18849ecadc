import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

/** An expected failure to open a database: its message is one line that says what to do. */
export class DatabaseOpenError extends Error {}

export interface Migration {
  /** 1, 2, 3…: the database's `user_version` after this migration. */
  version: number;
  sql: string;
}

function recovery(path: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return `move it aside (mv "${path}" "${path}.corrupt-${stamp}") and start again: a fresh one will be created`;
}

/**
 * Opens (or creates) one of our sqlite files: WAL, migrations by `PRAGMA user_version`, and an
 * `app` marker in the `meta` table so a foreign sqlite file is refused instead of written into.
 * Corrupt, foreign or too-new files fail with a DatabaseOpenError naming the file and the fix.
 */
export function openDatabase(path: string, app: string, migrations: readonly Migration[]): Db {
  const fresh = path === ':memory:' || !existsSync(path);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path);
  } catch (e) {
    throw new DatabaseOpenError(`cannot open ${path} (${(e as Error).message}): check the path and its permissions`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    const version = db.pragma('user_version', { simple: true }) as number;
    const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'`).get() !== undefined;
    if (!fresh || version > 0 || hasMeta) {
      const tables = (db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type='table'`).get() as { n: number }).n;
      const marker = hasMeta ? (db.prepare(`SELECT value FROM meta WHERE key='app'`).get() as { value: string } | undefined)?.value : undefined;
      if (tables > 0 && marker !== app) {
        throw new DatabaseOpenError(`${path} is not a Homeostat ${app} database (it holds other tables): ${recovery(path)}`);
      }
    }
    const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
    if (version > latest) {
      throw new DatabaseOpenError(`${path} was written by a newer Homeostat (schema ${version}, this build knows ${latest}): upgrade Homeostat, or ${recovery(path)}`);
    }
    const pending = migrations.filter((m) => m.version > version).sort((a, b) => a.version - b.version);
    for (const m of pending) {
      db.transaction(() => {
        db.exec(m.sql);
        db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
        db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('app', ?)`).run(app);
        db.pragma(`user_version = ${m.version}`);
      })();
    }
    db.prepare('SELECT count(*) FROM meta').get();
    return db;
  } catch (e) {
    db.close();
    if (e instanceof DatabaseOpenError) throw e;
    const msg = (e as Error).message;
    throw new DatabaseOpenError(`${path} is not a usable Homeostat ${app} database (${msg}): ${recovery(path)}`);
  }
}
