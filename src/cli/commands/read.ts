// `dmsim read NAME SECTOR COUNT [--out FILE]`: reads sectors through a mapped device; raw bytes to stdout
// unless --out names a file.

import { promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerRead(program: Command): void {
  registerVerb(program, 'read', {}, async ({ name, sector, count, out }, opts) => {
    const data = await withDaemon(opts, (c) => c.read(name, sector, count));
    if (out !== undefined) await fsp.writeFile(out, data);
    else await new Promise<void>((resolve, reject) => process.stdout.write(data, (e) => (e ? reject(e) : resolve())));
  });
}
