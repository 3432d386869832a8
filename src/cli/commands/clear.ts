// `dmsim clear NAME`: dmsetup clear (DM_TABLE_CLEAR): drops the table in the inactive slot.

import type { Command } from 'commander';
import { type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

export function registerClear(program: Command): void {
  socketOption(
    program.command('clear').description('drop the table loaded in the inactive slot').argument('<name>'),
  ).action(async (name: string, opts: SocketOptions) => {
    await withDaemon(opts, (c) => c.request('clear', { name }));
  });
}
