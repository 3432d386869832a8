// `dmsim create NAME [--table T | FILE] [-u UUID] [-r] [-n]`: dmsetup create (DM_DEV_CREATE + load + resume).

import type { Command } from 'commander';
import { readTable, type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

interface CreateOptions extends SocketOptions {
  table?: string;
  uuid?: string;
  readonly?: boolean;
  notable?: boolean;
}

export function registerCreate(program: Command): void {
  socketOption(
    program
      .command('create')
      .description('create a device from a table (--table, a file, or stdin)')
      .argument('<name>')
      .argument('[file]', 'file holding the table')
      .option('--table <table>', 'the table text (one target per line)')
      .option('-u, --uuid <uuid>', 'the device UUID')
      .option('-r, --readonly', 'create the device read-only')
      .option('-n, --notable', 'create the device without loading a table'),
  ).action(async (name: string, file: string | undefined, opts: CreateOptions) => {
    const table = opts.notable ? '' : await readTable(opts.table, file);
    await withDaemon(opts, (c) =>
      c.request('create', {
        name,
        table,
        readOnly: opts.readonly ?? false,
        notable: opts.notable ?? false,
        ...(opts.uuid ? { uuid: opts.uuid } : {}),
      }),
    );
  });
}
