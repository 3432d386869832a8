// `dmsim ls`: every device as "name<TAB>(major:minor)", or "No devices found".

import type { Command } from 'commander';
import { formatLs } from '../../control/dmsetup-format.js';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

export function registerLs(program: Command): void {
  registerVerb(program, 'ls', { json: true }, async (args, opts) => {
    await withDaemon(opts, async (c) => {
      const devices = await c.request('ls', args);
      if (opts.json) printJson(devices);
      else process.stdout.write(formatLs(devices));
    });
  });
}
