// `dmsim resume NAME`: dmsetup resume (the inactive table, if any, becomes live; I/O flows again).

import type { Command } from 'commander';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerResume(program: Command): void {
  registerVerb(program, 'resume', {}, async (args, opts) => {
    await withDaemon(opts, (c) => c.request('resume', args));
  });
}
