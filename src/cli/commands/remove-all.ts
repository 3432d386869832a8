// `dmsim remove_all [-f]`: dmsetup remove_all (DM_REMOVE_ALL).

import type { Command } from 'commander';
import { type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

export function registerRemoveAll(program: Command): void {
  socketOption(
    program
      .command('remove_all')
      .description('remove every device')
      .option('-f, --force', "replace busy devices' tables with error targets first"),
  ).action(async (opts: SocketOptions & { force?: boolean }) => {
    await withDaemon(opts, (c) => c.request('removeAll', { force: opts.force ?? false }));
  });
}
