// `dmsim flush NAME`: a flush (REQ_PREFLUSH) through a mapped device: every completed write becomes durable.

import type { Command } from 'commander';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerFlush(program: Command): void {
  registerVerb(program, 'flush', {}, async (args, opts) => {
    await withDaemon(opts, (c) => c.request('flush', args));
  });
}
