// `dmsim remove [-f] NAME`: dmsetup remove (DM_DEV_REMOVE; -f first swaps in an error table).

import type { Command } from 'commander';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerRemove(program: Command): void {
  registerVerb(program, 'remove', {}, async (args, opts) => {
    await withDaemon(opts, (c) => c.request('remove', args));
  });
}
