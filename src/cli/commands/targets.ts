// `dmsim targets`: the registered target types and their versions.

import type { Command } from 'commander';
import { formatTargets } from '../../control/dmsetup-format.js';
import {
  type JsonOptions,
  jsonOption,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

export function registerTargets(program: Command): void {
  jsonOption(socketOption(program.command('targets').description('list the target types and their versions'))).action(
    async (opts: SocketOptions & JsonOptions) => {
      await withDaemon(opts, async (c) => {
        const targets = await c.request('targets', {});
        if (opts.json) printJson(targets);
        else process.stdout.write(formatTargets(targets));
      });
    },
  );
}
