// `dmsim deps [-o devno|blkdevname|devname] [NAME]`: the devices each live table uses (DM_TABLE_DEPS), named as
// the table named them, or with -o by number, kernel name or mapped-device name as dmsetup names them.

import type { Command } from 'commander';
import { depsText } from '../../control/dmsetup-reports.js';
import { inDmsetupPersonality, printJson, registerVerb, reportEnvironment, withDaemon } from '../daemon-session.js';

export function registerDeps(program: Command): void {
  registerVerb(program, 'deps', { json: true }, async (words, opts) => {
    await withDaemon(opts, async (c) => {
      if (opts.json) return printJson(await c.request('deps', words.name !== undefined ? { name: words.name } : {}));
      const naming = words.naming ?? (inDmsetupPersonality() ? 'devno' : null);
      process.stdout.write(await depsText(c, { ...words, naming }, reportEnvironment()));
    });
  });
}
