// `dmsim wait NAME [EVENT_NR]`: dmsetup wait (DM_DEV_WAIT): returns once the device's event counter
// differs from EVENT_NR (default 0, as dmsetup sends).
// `dmsim wait NAME --for sync|merged|invalid [--timeout S]`: a dmsim extension (dmsetup has none; scripts poll
// `dmsetup status`): returns once every mirror of NAME is in sync, its snapshot-merge has merged, or its
// snapshot is Invalid, woken by the daemon's events (control/wait-for.ts). Fails at once when the condition can
// no longer hold, and after S seconds with the status seen then.

import type { Command } from 'commander';
import { InvalidArgumentError } from '../../base/errors.js';
import { waitFor } from '../../control/wait-for.js';
import {
  type JsonOptions,
  jsonOption,
  parseWholeNumber,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

const CONDITIONS = ['sync', 'merged', 'invalid'] as const;
type Condition = (typeof CONDITIONS)[number];

type Options = SocketOptions & JsonOptions & { for?: string; timeout?: string };

function parseTimeout(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidArgumentError(`--timeout takes a number of seconds >= 0, not '${text}'`);
  }
  return seconds * 1000;
}

export function registerWait(program: Command): void {
  jsonOption(
    socketOption(
      program
        .command('wait')
        .description(
          'wait until the event counter of a device differs from EVENT_NR (default 0), or with --for until a mirror is in sync, a merge has finished or a snapshot is Invalid',
        )
        .argument('<name>')
        .argument('[event_nr]')
        .option('--for <condition>', `wait for a condition instead of an event: ${CONDITIONS.join(', ')}`)
        .option('--timeout <seconds>', 'with --for: give up after this many seconds, showing the status then'),
    ),
  ).action(async (name: string, eventText: string | undefined, opts: Options) => {
    if (opts.for === undefined) {
      if (opts.timeout !== undefined) throw new InvalidArgumentError('--timeout goes with --for');
      const eventNr = eventText === undefined ? undefined : parseWholeNumber('EVENT_NR', eventText);
      await withDaemon(opts, async (c) => {
        const now = await c.request('wait', eventNr === undefined ? { name } : { name, eventNr });
        // dmsetup prints nothing unless verbose.
        if (opts.json) printJson({ eventNr: now });
      });
      return;
    }
    const condition = opts.for as Condition;
    if (!CONDITIONS.includes(condition)) {
      throw new InvalidArgumentError(`--for takes ${CONDITIONS.join(', ')}, not '${opts.for}'`);
    }
    if (eventText !== undefined) throw new InvalidArgumentError('give either EVENT_NR or --for, not both');
    const timeoutMs = opts.timeout === undefined ? undefined : parseTimeout(opts.timeout);
    await withDaemon(opts, async (c) => {
      const state = await waitFor(c, name, condition, timeoutMs === undefined ? {} : { timeoutMs });
      if (opts.json) printJson(state);
    });
  });
}
