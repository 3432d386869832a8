// `dmsim ls`: every device as "name<TAB>(major:minor)", or "No devices found".

import type { Command } from 'commander';
import { formatLs } from '../../control/dmsetup-format.js';
import {
  type JsonOptions,
  jsonOption,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

export function registerLs(program: Command): void {
  jsonOption(socketOption(program.command('ls').description('list the devices'))).action(
    async (opts: SocketOptions & JsonOptions) => {
      await withDaemon(opts, async (c) => {
        const devices = await c.request('ls', {});
        if (opts.json) printJson(devices);
        else process.stdout.write(formatLs(devices));
      });
    },
  );
}
