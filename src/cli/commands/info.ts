// `dmsim info [NAME]`: dmsetup info's long form for one device or all of them.

import type { Command } from 'commander';
import { formatInfo, NO_DEVICES } from '../../control/dmsetup-format.js';
import {
  type JsonOptions,
  jsonOption,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

export function registerInfo(program: Command): void {
  jsonOption(
    socketOption(
      program.command('info').description('show device state, tables, open count, event number').argument('[name]'),
    ),
  ).action(async (name: string | undefined, opts: SocketOptions & JsonOptions) => {
    await withDaemon(opts, async (c) => {
      const infos = await c.request('info', name !== undefined ? { name } : {});
      if (opts.json) return printJson(infos);
      process.stdout.write(infos.length === 0 ? NO_DEVICES : formatInfo(infos));
    });
  });
}
