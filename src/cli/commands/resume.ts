// `dmsim resume NAME`: dmsetup resume (the inactive table, if any, becomes live; I/O flows again).

import type { Command } from 'commander';
import { type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

export function registerResume(program: Command): void {
  socketOption(
    program.command('resume').description('resume a device, making a loaded inactive table live').argument('<name>'),
  ).action(async (name: string, opts: SocketOptions) => {
    await withDaemon(opts, (c) => c.request('resume', { name }));
  });
}
