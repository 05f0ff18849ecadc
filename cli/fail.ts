import { ConfigError } from '../shared/config/load.ts';
import { BrokerUnreachableError } from '../shared/link/mqtt-connection.ts';
import { DatabaseOpenError } from '../shared/store/sqlite.ts';

/** Errors whose message already says what failed and what to do: printed as one line, no stack. */
export class UsageError extends Error {}

const EXPECTED = [ConfigError, DatabaseOpenError, BrokerUnreachableError, UsageError];

export function isExpected(e: unknown): e is Error {
  return e instanceof Error && (EXPECTED.some((k) => e instanceof k) || (e as { expected?: boolean }).expected === true);
}

/** Prints a failure for a person and exits non-zero. Unexpected errors keep their stack behind HOMEOSTAT_DEBUG. */
export function fail(e: unknown): never {
  if (isExpected(e)) {
    process.stderr.write(`homeostat: ${e.message}\n`);
  } else {
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`homeostat: unexpected error: ${err.message}\n`);
    if (process.env.HOMEOSTAT_DEBUG) process.stderr.write(`${err.stack}\n`);
    else process.stderr.write('homeostat: rerun with HOMEOSTAT_DEBUG=1 for the stack trace, and please report it\n');
  }
  process.exit(1);
}
