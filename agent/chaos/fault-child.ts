import { spawn, type ChildProcess } from 'node:child_process';

/**
 * After its own deadline a fault child has this long to exit by itself before the parent kills
 * it: the child's deadline is the real bound, the parent's timer only a second one.
 */
export const PARENT_BACKSTOP_MS = 2_000;

export interface FaultChild {
  child: ChildProcess;
  /** Resolves when the child has exited, with how. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

/**
 * Runs `script` in a fresh node (`node -e`, so it works from a bundle too) with the absolute
 * deadline as its first argument. The script must stop itself at that deadline: the fault then
 * ends on time even if this process dies or forgets it.
 */
export async function spawnFaultChild(script: string, deadline: number, extraArgs: string[] = [], waitForReady = false): Promise<FaultChild> {
  const child = spawn(process.execPath, ['-e', script, String(deadline), ...extraArgs], {
    stdio: ['ignore', waitForReady ? 'pipe' : 'ignore', 'ignore'],
    env: { PATH: process.env.PATH ?? '' },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  await new Promise<void>((ok, fail) => {
    child.once('error', (e) => fail(new Error(`cannot start a fault child (${process.execPath}): ${e.message}`)));
    if (!waitForReady) child.once('spawn', ok);
    else {
      let buf = '';
      child.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('ready\n')) ok();
        if (buf.length > 4096) buf = buf.slice(-64);
      });
      void exited.then((e) => fail(new Error(`the fault child exited before it was ready (exit ${e.code ?? e.signal})`)));
    }
  });
  const backstop = setTimeout(() => child.kill('SIGKILL'), Math.max(0, deadline - Date.now()) + PARENT_BACKSTOP_MS);
  backstop.unref();
  void exited.then(() => clearTimeout(backstop));
  return {
    child,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
