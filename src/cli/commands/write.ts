// `dmsim write NAME SECTOR COUNT (--byte 0xAB | --from FILE)`: writes COUNT sectors through a mapped device,
// every byte the same value or the first COUNT sectors of a file.

import { promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../base/errors.js';
import { SECTOR_SIZE } from '../../base/size.js';
import { parseWholeNumber, type SocketOptions, socketOption, withDaemon } from '../daemon-session.js';

interface WriteOptions extends SocketOptions {
  byte?: string;
  from?: string;
}

function parseByte(text: string): number {
  const value = /^0x[0-9a-f]{1,2}$/i.test(text) ? parseInt(text, 16) : /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= 255))
    throw new InvalidArgumentError(`--byte must be 0..255 or 0x00..0xff, not '${text}'`);
  return value;
}

async function payload(opts: WriteOptions, count: number): Promise<Buffer> {
  const bytes = count * SECTOR_SIZE;
  if ((opts.byte === undefined) === (opts.from === undefined)) {
    throw new InvalidArgumentError('give exactly one of --byte VALUE or --from FILE');
  }
  if (opts.byte !== undefined) return Buffer.alloc(bytes, parseByte(opts.byte));
  const from = opts.from as string;
  const fh = await fsp.open(from, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`cannot open ${from}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    if (bytesRead < bytes) {
      throw new InvalidArgumentError(
        `${from} holds ${bytesRead} bytes, fewer than the ${bytes} that ${count} sectors need`,
      );
    }
    return buf;
  } finally {
    await fh.close();
  }
}

export function registerWrite(program: Command): void {
  socketOption(
    program
      .command('write')
      .description('write COUNT sectors at SECTOR of a device: all one --byte value, or --from FILE')
      .argument('<name>')
      .argument('<sector>')
      .argument('<count>')
      .option('--byte <value>', 'fill every byte with VALUE (0xAB or 171)')
      .option('--from <file>', 'take the data from the start of FILE'),
  ).action(async (name: string, sectorText: string, countText: string, opts: WriteOptions) => {
    const sector = parseWholeNumber('SECTOR', sectorText);
    const count = parseWholeNumber('COUNT', countText);
    const data = await payload(opts, count);
    await withDaemon(opts, (c) => c.write(name, sector, data));
  });
}
