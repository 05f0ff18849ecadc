import { spawn } from 'node:child_process';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `homeostat` CLI through tsx; resolves with its exit code and output once it exits,
 * rejects if it has not exited within `timeoutMs` (it is then SIGKILLed). An admin token in the
 * caller's environment is never passed on: tests say which token they mean.
 */
export function cli(args: string[], timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', ...args], { env: { ...process.env, HOMEOSTAT_LOG_LEVEL: 'silent', HOMEOSTAT_ADMIN_TOKEN: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`homeostat ${args.join(' ')} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}
