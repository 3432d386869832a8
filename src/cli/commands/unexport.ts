// `dmsim unexport NAME`: withdraws an NBD export; its clients finish their in-flight requests and are
// disconnected, and the device is closed (so it can be removed again).

import type { Command } from 'commander';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerUnexport(program: Command): void {
  registerVerb(program, 'unexport', {}, async (args, opts) => {
    await withDaemon(opts, (c) => c.request('unexport', args));
  });
}
