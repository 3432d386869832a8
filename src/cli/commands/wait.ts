// `dmsim wait NAME [EVENT_NR]`: dmsetup wait (DM_DEV_WAIT): returns once the device's event counter
// differs from EVENT_NR (default 0, as dmsetup sends).
// `dmsim wait NAME --for sync|merged|invalid [--timeout S]`: a dmsim extension (dmsetup has none; scripts poll
// `dmsetup status`): returns once every mirror of NAME is in sync, its snapshot-merge has merged, or its
// snapshot is Invalid, woken by the daemon's events (control/wait-for.ts). Fails at once when the condition can
// no longer hold, and after S seconds with the status seen then.

import type { Command } from 'commander';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

export function registerWait(program: Command): void {
  registerVerb(program, 'wait', { json: true }, async (words, opts) => {
    await withDaemon(opts, async (c) => {
      if ('event' in words) {
        const now = await c.request('wait', words.event);
        // dmsetup prints nothing unless verbose.
        if (opts.json) printJson({ eventNr: now });
        return;
      }
      const { name, condition, timeoutMs } = words;
      // Loaded here: it brings the targets' status parsers, which the other verbs must not pay for at start-up.
      const { waitFor } = await import('../../control/wait-for.js');
      const state = await waitFor(c, name, condition, timeoutMs === undefined ? {} : { timeoutMs });
      if (opts.json) printJson(state);
    });
  });
}
