// `dmsim read NAME SECTOR COUNT [--out FILE]`: reads sectors through a mapped device; raw bytes to stdout
// unless --out names a file.

import { promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { parseWholeNumber, type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

export function registerRead(program: Command): void {
  socketOption(
    program
      .command('read')
      .description('read COUNT sectors from SECTOR of a device (raw bytes to stdout, or --out FILE)')
      .argument('<name>')
      .argument('<sector>')
      .argument('<count>')
      .option('--out <file>', 'write the bytes to FILE instead of stdout'),
  ).action(async (name: string, sectorText: string, countText: string, opts: SocketOptions & { out?: string }) => {
    const sector = parseWholeNumber('SECTOR', sectorText);
    const count = parseWholeNumber('COUNT', countText);
    const data = await withDaemon(opts, (c) => c.read(name, sector, count));
    if (opts.out !== undefined) await fsp.writeFile(opts.out, data);
    else await new Promise<void>((resolve, reject) => process.stdout.write(data, (e) => (e ? reject(e) : resolve())));
  });
}
