// `dmsim remove [-f] NAME`: dmsetup remove (DM_DEV_REMOVE; -f first swaps in an error table).

import type { Command } from 'commander';
import { type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

export function registerRemove(program: Command): void {
  socketOption(
    program
      .command('remove')
      .description('remove a device')
      .argument('<name>')
      .option('-f, --force', 'replace the table with an error target first, so a busy device fails its I/O'),
  ).action(async (name: string, opts: SocketOptions & { force?: boolean }) => {
    await withDaemon(opts, (c) => c.request('remove', { name, force: opts.force ?? false }));
  });
}
