// `dmsim stats COMMAND [NAME]`: dmstats (create, delete, clear, list, print, report) over the daemon's dm core
// messages; the words are src/control/grammar/stats.ts, the work and the output src/control/dmstats.ts.

import type { Command } from 'commander';
import { clientStatsBackend, runStats } from '../../control/dmstats.js';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerStats(program: Command): void {
  registerVerb(program, 'stats', {}, async (stats, opts) => {
    await withDaemon(opts, async (c) => {
      process.stdout.write(await runStats(stats, clientStatsBackend(c), (text) => process.stderr.write(text)));
    });
  });
}
