// `dmsim wait NAME [EVENT_NR]`: dmsetup wait (DM_DEV_WAIT): returns once the device's event counter
// differs from EVENT_NR (default 0, as dmsetup sends).

import type { Command } from 'commander';
import {
  type JsonOptions,
  jsonOption,
  parseWholeNumber,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

export function registerWait(program: Command): void {
  jsonOption(
    socketOption(
      program
        .command('wait')
        .description('wait until the event counter of a device differs from EVENT_NR (default 0)')
        .argument('<name>')
        .argument('[event_nr]'),
    ),
  ).action(async (name: string, eventText: string | undefined, opts: SocketOptions & JsonOptions) => {
    const eventNr = eventText === undefined ? undefined : parseWholeNumber('EVENT_NR', eventText);
    await withDaemon(opts, async (c) => {
      const now = await c.request('wait', eventNr === undefined ? { name } : { name, eventNr });
      // dmsetup prints nothing unless verbose.
      if (opts.json) printJson({ eventNr: now });
    });
  });
}
