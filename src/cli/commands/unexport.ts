// `dmsim unexport NAME`: withdraws an NBD export; its clients finish their in-flight requests and are
// disconnected, and the device is closed (so it can be removed again).

import type { Command } from 'commander';
import { type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

export function registerUnexport(program: Command): void {
  socketOption(program.command('unexport').description('stop exporting a device over NBD').argument('<name>')).action(
    async (name: string, opts: SocketOptions) => {
      await withDaemon(opts, (c) => c.request('unexport', { name }));
    },
  );
}
