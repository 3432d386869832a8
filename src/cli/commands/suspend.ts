// `dmsim suspend [--noflush] NAME`: dmsetup suspend (DM_DEV_SUSPEND with DM_SUSPEND_FLAG).

import type { Command } from 'commander';
import { type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

export function registerSuspend(program: Command): void {
  socketOption(
    program
      .command('suspend')
      .description('suspend a device: wait for in-flight I/O, hold new I/O')
      .argument('<name>')
      .option('--noflush', 'keep queued I/O instead of flushing it')
      .option('--nolockfs', 'accepted for dmsetup compatibility (there is no filesystem to freeze)'),
  ).action(async (name: string, opts: SocketOptions & { noflush?: boolean }) => {
    await withDaemon(opts, (c) => c.request('suspend', { name, noflush: opts.noflush ?? false }));
  });
}
