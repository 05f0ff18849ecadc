import { CommandServiceAdapter } from './command-service.ts';
import { DockerServiceAdapter } from './docker-service.ts';
import type { ManagedService } from './schema.ts';
import type { ServiceAdapter } from './service.ts';
import { SystemdServiceAdapter, type SystemdOptions } from './systemd-service.ts';

/** One adapter per declared service. Construction never touches the host: availability is checked per call. */
export function createServiceAdapter(decl: ManagedService, opts: { systemd?: SystemdOptions } = {}): ServiceAdapter {
  switch (decl.kind) {
    case 'command':
      return new CommandServiceAdapter(decl);
    case 'systemd':
      return new SystemdServiceAdapter(decl, opts.systemd);
    case 'docker':
      return new DockerServiceAdapter(decl);
  }
}
