// `dmsim version`: dmsetup version's two lines (dmsim's version and the driver interface it follows).

import type { Command } from 'commander';
import { formatVersion } from '../../control/dmsetup-format.js';
import {
  type JsonOptions,
  jsonOption,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

export function registerVersion(program: Command): void {
  jsonOption(
    socketOption(program.command('version').description("print dmsim's and the driver interface's versions")),
  ).action(async (opts: SocketOptions & JsonOptions) => {
    await withDaemon(opts, async (c) => {
      const v = await c.request('version', {});
      if (opts.json) printJson(v);
      else process.stdout.write(formatVersion(v));
    });
  });
}
