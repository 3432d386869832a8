// `dmsim export NAME [--listen unix:PATH | tcp:HOST:PORT] [--read-only]`: offers a device over NBD (served by
// the daemon, src/nbd/). Prints the URI clients use. Default address: a unix socket beside the control socket.

import type { Command } from 'commander';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

export function registerExport(program: Command): void {
  registerVerb(program, 'export', { json: true }, async (args, opts) => {
    await withDaemon(opts, async (c) => {
      const exp = await c.request('export', args);
      if (opts.json) printJson(exp);
      else process.stdout.write(`${exp.uri}\n`);
    });
  });
}
