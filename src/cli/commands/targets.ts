// `dmsim targets`: the registered target types and their versions.

import type { Command } from 'commander';
import { formatTargets } from '../../control/dmsetup-format.js';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

export function registerTargets(program: Command): void {
  registerVerb(program, 'targets', { json: true }, async (args, opts) => {
    await withDaemon(opts, async (c) => {
      const targets = await c.request('targets', args);
      if (opts.json) printJson(targets);
      else process.stdout.write(formatTargets(targets));
    });
  });
}
