// `dmsim create NAME [--table T | FILE | TABLE...] [-u UUID] [-r] [-n]`: dmsetup create (DM_DEV_CREATE + load +
// resume).

import type { Command } from 'commander';
import { readTable, registerVerb, withDaemon } from '../daemon-session.js';

export function registerCreate(program: Command): void {
  registerVerb(program, 'create', {}, async ({ args, table }, opts) => {
    const text = await readTable(table);
    await withDaemon(opts, (c) => c.request('create', { ...args, table: text }));
  });
}
