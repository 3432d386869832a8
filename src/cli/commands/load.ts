// `dmsim load|reload NAME [--table T | FILE]`: loads a table into the INACTIVE slot (DM_TABLE_LOAD).

import type { Command } from 'commander';
import { readTable, type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

export function registerLoad(program: Command): void {
  socketOption(
    program
      .command('load')
      .alias('reload')
      .description('load a table into the inactive slot; resume makes it live')
      .argument('<name>')
      .argument('[file]', 'file holding the table')
      .option('--table <table>', 'the table text (one target per line)'),
  ).action(async (name: string, file: string | undefined, opts: SocketOptions & { table?: string }) => {
    const table = await readTable(opts.table, file);
    await withDaemon(opts, (c) => c.request('load', { name, table }));
  });
}
