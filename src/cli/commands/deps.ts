// `dmsim deps [NAME]`: the devices each live table uses (DM_TABLE_DEPS), named as the table named them.

import type { Command } from 'commander';
import { formatDeps } from '../../control/dmsetup-format.js';
import {
  type JsonOptions,
  jsonOption,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

export function registerDeps(program: Command): void {
  jsonOption(
    socketOption(program.command('deps').description("list the devices a device's live table uses").argument('[name]')),
  ).action(async (name: string | undefined, opts: SocketOptions & JsonOptions) => {
    await withDaemon(opts, async (c) => {
      const deps = await c.request('deps', name !== undefined ? { name } : {});
      if (opts.json) printJson(deps);
      else process.stdout.write(formatDeps(deps, name === undefined));
    });
  });
}
