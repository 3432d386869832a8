// `dmsim flush NAME`: a flush (REQ_PREFLUSH) through a mapped device: every completed write becomes durable.

import type { Command } from 'commander';
import { type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

export function registerFlush(program: Command): void {
  socketOption(program.command('flush').description('flush a device').argument('<name>')).action(
    async (name: string, opts: SocketOptions) => {
      await withDaemon(opts, (c) => c.request('flush', { name }));
    },
  );
}
