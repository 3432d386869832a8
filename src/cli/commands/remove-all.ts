// `dmsim remove_all [-f]`: dmsetup remove_all (DM_REMOVE_ALL).

import type { Command } from 'commander';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerRemoveAll(program: Command): void {
  registerVerb(program, 'remove_all', {}, async (args, opts) => {
    await withDaemon(opts, (c) => c.request('removeAll', args));
  });
}
