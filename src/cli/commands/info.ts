// `dmsim info [NAME]`: dmsetup info's long form for one device or all of them.

import type { Command } from 'commander';
import { formatInfo, NO_DEVICES } from '../../control/dmsetup-format.js';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

export function registerInfo(program: Command): void {
  registerVerb(program, 'info', { json: true }, async (args, opts) => {
    await withDaemon(opts, async (c) => {
      const infos = await c.request('info', args);
      if (opts.json) return printJson(infos);
      process.stdout.write(infos.length === 0 ? NO_DEVICES : formatInfo(infos));
    });
  });
}
