// `dmsim version`: dmsetup version's two lines — dmsim's own version (the library's line, printed always) and the
// driver interface the daemon follows (when one answers; without one, dmsetup also prints its library line first
// and then fails to reach the driver).

import type { Command } from 'commander';
import { DMSIM_VERSION } from '../../base/version.js';
import { formatDriverVersion, formatLibraryVersion } from '../../control/dmsetup-format.js';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

export function registerVersion(program: Command): void {
  registerVerb(program, 'version', { json: true }, async (args, opts) => {
    if (!opts.json) process.stdout.write(formatLibraryVersion(DMSIM_VERSION));
    await withDaemon(opts, async (c) => {
      const v = await c.request('version', args);
      if (opts.json) printJson({ client: DMSIM_VERSION, ...v });
      else process.stdout.write(formatDriverVersion(v.driver));
    });
  });
}
