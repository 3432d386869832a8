// `dmsim daemon [--socket PATH] [--detach] [--trace FILE] [--state FILE] [--force]`: holds the devices, as the kernel does, and serves
// the other verbs over the control socket until SIGTERM/SIGINT.

import type { Command } from 'commander';
import { resolveSocketPath } from '../../control/socket-path.js';
import { type SocketOptions, socketOption } from '../daemon-session.js';

interface DaemonOptions extends SocketOptions {
  detach?: boolean;
  trace?: string;
  state?: string;
  force?: boolean;
}

export function registerDaemon(program: Command): void {
  socketOption(
    program
      .command('daemon')
      .description('hold the devices and serve the other verbs on the control socket')
      .option('--detach', 'run in the background; print its PID once the socket accepts connections')
      .option(
        '--trace <file>',
        'write every engine event to FILE: JSON lines, or a Chrome trace (Perfetto, chrome://tracing) when FILE ends in .json',
      )
      .option('--state <file>', 'record the live tables in FILE on every change and activate them again at start')
      .option('--force', 'let tables open block devices that are mounted or claimed by another process (dangerous)'),
  ).action(async (opts: DaemonOptions) => {
    const socketPath = resolveSocketPath(opts.socket);
    // Loaded here so the client verbs do not load the daemon's modules and the whole engine at every start.
    const { detachDaemon, runDaemon } = await import('../../control/daemon-process.js');
    if (opts.detach) {
      process.stdout.write(`${await detachDaemon(socketPath, opts.trace, opts.state, opts.force)}\n`);
      return;
    }
    const { DeviceMapper } = await import('../../../targets/device-mapper.js');
    await runDaemon({
      socketPath,
      trace: opts.trace,
      statePath: opts.state,
      version: program.version() ?? 'unknown',
      makeEngine: (bus) => new DeviceMapper({ bus, forceOpen: opts.force ?? false }),
      log: (line) => process.stderr.write(`dmsim daemon: ${line}\n`),
    });
    // Everything is closed and the socket removed; a timer some target left behind must not keep us alive.
    process.exit(0);
  });
}
