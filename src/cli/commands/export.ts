// `dmsim export NAME [--listen unix:PATH | tcp:HOST:PORT] [--read-only]`: offers a device over NBD (served by
// the daemon, src/nbd/). Prints the URI clients use. Default address: a unix socket beside the control socket.

import type { Command } from 'commander';
import {
  type JsonOptions,
  jsonOption,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

interface ExportOptions extends SocketOptions, JsonOptions {
  listen?: string;
  readOnly?: boolean;
}

export function registerExport(program: Command): void {
  jsonOption(
    socketOption(
      program
        .command('export')
        .description('export a device over NBD (qemu-img, qemu-io, nbdinfo, nbdcopy ... can then use it)')
        .argument('<name>')
        .option(
          '--listen <address>',
          'unix:PATH or tcp:HOST:PORT (default: unix socket beside the control socket; other addresses are never chosen for you)',
        )
        .option('--read-only', 'refuse writes from NBD clients'),
    ),
  ).action(async (name: string, opts: ExportOptions) => {
    await withDaemon(opts, async (c) => {
      const exp = await c.request('export', {
        name,
        ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
        readOnly: opts.readOnly ?? false,
      });
      if (opts.json) printJson(exp);
      else process.stdout.write(`${exp.uri}\n`);
    });
  });
}
