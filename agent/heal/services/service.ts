/** What a service adapter measured: is the service running, which pid (when known), and why. */
export interface ServiceStatus {
  running: boolean;
  pid?: number;
  detail: string;
}

/**
 * One managed service, whatever runs it. Every call takes an AbortSignal so the engine can bound
 * it; every adapter answers "not available" with a ServiceUnavailableError, never a hang.
 */
export interface ServiceAdapter {
  readonly name: string;
  readonly kind: 'command' | 'systemd' | 'docker';
  status(signal?: AbortSignal): Promise<ServiceStatus>;
  start(signal?: AbortSignal): Promise<ServiceStatus>;
  stop(signal?: AbortSignal): Promise<ServiceStatus>;
  restart(signal?: AbortSignal): Promise<ServiceStatus & { previousPid?: number }>;
}

/**
 * The service manager this adapter needs is not on this host (no systemd, no Docker socket).
 * `expected`: an environment fact to report, not a bug to log with a stack.
 */
export class ServiceUnavailableError extends Error {
  readonly expected = true;
}

/** The manager answered, but refused or failed the request (unknown container, failed unit...). */
export class ServiceCommandError extends Error {}
