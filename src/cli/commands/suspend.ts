// `dmsim suspend [--noflush] NAME`: dmsetup suspend (DM_DEV_SUSPEND with DM_SUSPEND_FLAG).

import type { Command } from 'commander';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerSuspend(program: Command): void {
  registerVerb(program, 'suspend', {}, async (args, opts) => {
    await withDaemon(opts, (c) => c.request('suspend', args));
  });
}
