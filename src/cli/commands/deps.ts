// `dmsim deps [NAME]`: the devices each live table uses (DM_TABLE_DEPS), named as the table named them.

import type { Command } from 'commander';
import { formatDeps } from '../../control/dmsetup-format.js';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

export function registerDeps(program: Command): void {
  registerVerb(program, 'deps', { json: true }, async (args, opts) => {
    await withDaemon(opts, async (c) => {
      const deps = await c.request('deps', args);
      if (opts.json) printJson(deps);
      else process.stdout.write(formatDeps(deps, args.name === undefined));
    });
  });
}
