// `dmsim ls`: every device as "name<TAB>(major:minor)", or "No devices found"; -o devno|blkdevname|devname,
// --tree [-o OPTIONS], --target TYPE, and --exec COMMAND (run with /dev/mapper/NAME for each device).

import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../base/errors.js';
import { lsMatching, lsText } from '../../control/dmsetup-reports.js';
import { MAPPER_PREFIX } from '../../dm/device-pool.js';
import { printJson, registerVerb, reportEnvironment, withDaemon } from '../daemon-session.js';

export function registerLs(program: Command): void {
  registerVerb(program, 'ls', { json: true }, async (words, opts) => {
    await withDaemon(opts, async (c) => {
      if (opts.json) return printJson(await c.request('ls', {}));
      if (words.exec === undefined) return void process.stdout.write(await lsText(c, words, reportEnvironment()));
      // dmsetup's _exec_command: the words of COMMAND (split at white space) and the device's path, one at a time.
      const argv = words.exec.split(/\s+/).filter((w) => w !== '');
      if (argv.length === 0) throw new InvalidArgumentError('ls: --exec needs a command');
      for (const d of (await lsMatching(c, words.target)) ?? []) {
        const r = spawnSync(argv[0]!, [...argv.slice(1), `${MAPPER_PREFIX}${d.name}`], { stdio: 'inherit' });
        if (r.error) throw new InvalidArgumentError(`ls --exec: cannot run ${argv[0]}: ${r.error.message}`);
      }
    });
  });
}
