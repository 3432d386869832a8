// `dmsim write NAME SECTOR COUNT (BYTE | --byte 0xAB | --from FILE)`: writes COUNT sectors through a mapped
// device, every byte the same value or the first COUNT sectors of a file.

import type { Command } from 'commander';
import { writePayload } from '../../control/grammar/sources.js';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerWrite(program: Command): void {
  registerVerb(program, 'write', {}, async ({ name, sector, count, data }, opts) => {
    const payload = await writePayload(data, count);
    await withDaemon(opts, (c) => c.write(name, sector, payload));
  });
}
