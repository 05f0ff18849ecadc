import { z } from 'zod';
import { HealNameSchema } from '../../../shared/policy/names.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** What restart/stop waits for SIGTERM to work before SIGKILL (systemd's TimeoutStopSec defaults to 90 s; an edge box wants less). */
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;

const common = {
  name: HealNameSchema,
  /** Name of a probe (local config) whose success is part of "this service is healthy". */
  probe: HealNameSchema.optional(),
};

/**
 * A process the agent starts itself and tracks through a pidfile. The pidfile alone is not
 * trusted: a pid is only "the service" while /proc/<pid>/cmdline still matches `argv`, because
 * pids are recycled and a stale pidfile must not make the agent signal a stranger.
 */
export const CommandServiceSchema = z.strictObject({
  ...common,
  kind: z.literal('command'),
  argv: z.array(z.string().min(1)).min(1, 'argv: at least the program to run'),
  pidfile: z.string().min(1),
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  /** stdout and stderr are appended here; without it they go nowhere (a detached child must not hold our pipes). */
  logFile: z.string().min(1).optional(),
  stopTimeoutMs: int(0, 600_000).default(DEFAULT_STOP_TIMEOUT_MS),
});

/** A unit managed through systemctl; usable only on hosts booted with systemd. */
export const SystemdServiceSchema = z.strictObject({
  ...common,
  kind: z.literal('systemd'),
  // A leading '-' would be read by systemctl as an option.
  unit: z.string().regex(/^[A-Za-z0-9@_.:\\][A-Za-z0-9@_.:\\-]{0,255}$/, 'a systemd unit name like "nginx.service"'),
  timeoutMs: int(100, 600_000).default(30_000),
});

/** A container restarted through the Docker Engine API on its unix socket. */
export const DockerServiceSchema = z.strictObject({
  ...common,
  kind: z.literal('docker'),
  container: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/, 'a container name or id'),
  socketPath: z.string().min(1).default('/var/run/docker.sock'),
  /** Passed as `t` to POST /containers/{id}/restart: seconds Docker waits before killing. */
  stopTimeoutSec: int(0, 600).default(10),
  timeoutMs: int(100, 600_000).default(30_000),
});

export const ManagedServiceSchema = z.discriminatedUnion('kind', [CommandServiceSchema, SystemdServiceSchema, DockerServiceSchema]);
export type ManagedService = z.infer<typeof ManagedServiceSchema>;
export type CommandService = z.infer<typeof CommandServiceSchema>;
export type SystemdService = z.infer<typeof SystemdServiceSchema>;
export type DockerService = z.infer<typeof DockerServiceSchema>;
