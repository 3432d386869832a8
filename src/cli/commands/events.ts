// `dmsim events`: follows the daemon's event bus, one JSON object per line, until interrupted.

import type { Command } from 'commander';
import { ControlClient } from '../../control/client.js';
import { resolveSocketPath } from '../../control/socket-path.js';
import { type SocketOptions, socketOption } from '../daemon-session.js';

export function registerEvents(program: Command): void {
  socketOption(program.command('events').description("stream the daemon's events as JSON lines")).action(
    async (opts: SocketOptions) => {
      const client = await ControlClient.connect(resolveSocketPath(opts.socket));
      await client.events((event) => process.stdout.write(`${JSON.stringify(event)}\n`));
      // Runs until the daemon goes away or the user interrupts.
      await client.closed;
    },
  );
}
