// `dmsim clear NAME`: dmsetup clear (DM_TABLE_CLEAR): drops the table in the inactive slot.

import type { Command } from 'commander';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerClear(program: Command): void {
  registerVerb(program, 'clear', {}, async (args, opts) => {
    await withDaemon(opts, (c) => c.request('clear', args));
  });
}
