// `dmsim load|reload NAME [--table T | FILE | TABLE...]`: loads a table into the INACTIVE slot (DM_TABLE_LOAD).

import type { Command } from 'commander';
import { readTable, registerVerb, withDaemon } from '../daemon-session.js';

export function registerLoad(program: Command): void {
  registerVerb(program, 'load', {}, async ({ name, table }, opts) => {
    const text = await readTable(table);
    await withDaemon(opts, (c) => c.request('load', { name, table: text }));
  });
}
