// `dmsim stats COMMAND [NAME]`: dmstats (create, delete, clear, list, print, report) over the daemon's dm core
// messages; the words are src/control/grammar/stats.ts, the work and the output src/control/dmstats.ts.

import type { Command } from 'commander';
import { runStats } from '../../control/dmstats.js';
import { bindWords, verbCommand } from '../../control/grammar/grammar.js';
import { STATS_GRAMMAR } from '../../control/grammar/stats.js';
import { socketOption, withDaemon } from '../daemon-session.js';

export function registerStats(program: Command): void {
  const cmd = socketOption(verbCommand('stats', STATS_GRAMMAR));
  cmd.action(async (...params: unknown[]) => {
    const self = params.at(-1) as Command;
    const stats = bindWords('stats', STATS_GRAMMAR, self.args, self.opts());
    const opts = self.opts() as { socket?: string };
    await withDaemon(opts, async (c) => {
      const out = await runStats(stats, {
        devices: async () => (await c.request('ls', {})).map((d) => d.name),
        sizeSectors: async (name) => (await c.request('table', { name })).reduce((n, l) => n + l.length, 0),
        message: (name, words) => c.request('message', { name, sector: 0, message: words }),
      });
      process.stdout.write(out);
    });
  });
  program.addCommand(cmd);
}
