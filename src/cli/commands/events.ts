// `dmsim events`: follows the daemon's event bus, one JSON object per line, until interrupted. An event the
// client's check refuses (src/control/event-schema.ts) is reported on stderr instead.

import type { Command } from 'commander';
import { ControlClient } from '../../control/client.js';
import { resolveSocketPath } from '../../control/socket-path.js';
import { type SocketOptions, socketOption } from '../daemon-session.js';

export function registerEvents(program: Command): void {
  socketOption(program.command('events').description("stream the daemon's events as JSON lines")).action(
    async (opts: SocketOptions) => {
      const client = await ControlClient.connect(resolveSocketPath(opts.socket));
      await client.events(
        (event) => process.stdout.write(`${JSON.stringify(event)}\n`),
        (reason) => process.stderr.write(`dmsim: dropped an event: ${reason}\n`),
      );
      // Runs until the daemon goes away or the user interrupts.
      await client.closed;
    },
  );
}
