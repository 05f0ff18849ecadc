import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One logger factory for every process. Logs go to stdout as JSON lines: pino's
 * worker-thread transports do not survive esbuild bundling (pinojs/pino docs/bundling.md),
 * so pretty-printing, if wanted, is a pipe (`| npx pino-pretty`), not a transport.
 * HOMEOSTAT_LOG_LEVEL overrides the level (the test runner sets it to `silent`). `fd` 2 sends logs to
 * stderr, for commands whose stdout is for people (`homeostat start`'s live view).
 */
export function createLogger(name: string, level = process.env.HOMEOSTAT_LOG_LEVEL ?? 'info', fd: 1 | 2 = 1): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd, sync: false }));
}

/** A logger that writes nothing, for unit tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
