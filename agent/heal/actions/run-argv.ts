import { spawn } from 'node:child_process';

/** Output kept per stream: the tail, where a failing program says why. */
export const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024;
/** After the process exits, how long a grandchild may keep its pipes open before we stop reading. */
const CLOSE_AFTER_EXIT_MS = 1_000;

export interface ArgvResult {
  /** Exit code, or null when it was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Killed because the caller's signal aborted. */
  cancelled: boolean;
  stdout: string;
  stderr: string;
  /** Bytes dropped from the front of stdout + stderr to respect the cap. */
  truncatedBytes: number;
  latencyMs: number;
}

/** Keeps the last `max` bytes of a stream and counts what it dropped. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  dropped = 0;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    if (this.size > 2 * this.max) this.compact();
  }
  text(): string {
    this.compact();
    return Buffer.concat(this.chunks).toString('utf8');
  }
  private compact(): void {
    const all = Buffer.concat(this.chunks);
    const keep = all.subarray(Math.max(0, all.length - this.max));
    this.dropped += all.length - keep.length;
    this.chunks = [keep];
    this.size = keep.length;
  }
}

/**
 * Runs argv without a shell, bounded in time and output. The child gets its own process group
 * and the whole group is SIGKILLed at the deadline: a timed-out `sh -c` must not leave its
 * children running, nor holding our pipes open. Rejects only when the program cannot be started.
 */
export function runArgv(
  argv: readonly string[],
  opts: { timeoutMs: number; signal?: AbortSignal; maxOutputBytes?: number; cwd?: string; env?: Record<string, string> },
): Promise<ArgvResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error('runArgv: empty argv'));
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const out = new TailBuffer(max);
  const err = new TailBuffer(max);
  const t0 = performance.now();
  return new Promise((ok, fail) => {
    opts.signal?.throwIfAborted();
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    let timedOut = false;
    let cancelled = false;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let settled = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const onTimeout = () => {
      timedOut = true;
      killGroup();
    };
    const onAbort = () => {
      cancelled = true;
      killGroup();
    };
    const timer = setTimeout(onTimeout, opts.timeoutMs);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      if (settled || !exited) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(closeTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      ok({ ...exited, timedOut, cancelled, stdout: out.text(), stderr: err.text(), truncatedBytes: out.dropped + err.dropped, latencyMs: performance.now() - t0 });
    };
    let closeTimer: NodeJS.Timeout | undefined;
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fail(new Error(`cannot run ${JSON.stringify(argv)}: ${e.message}: check the program path`));
    });
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      closeTimer = setTimeout(finish, CLOSE_AFTER_EXIT_MS);
    });
    child.once('close', finish);
  });
}
