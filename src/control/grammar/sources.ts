// The files a parsed command names, read the same way on both sides: a table file (create, load) and the data
// of `write --from FILE`. Standard input is the CLI's alone (src/cli/daemon-session.ts).

import { promises as fsp } from 'node:fs';
import { InvalidArgumentError } from '../../base/errors.js';
import { SECTOR_SIZE } from '../../base/size.js';
import type { WriteData } from './verbs.js';

export async function readTableFile(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read the table file ${file}: ${(e as Error).message}`);
  }
}

/** The bytes `write` sends: count sectors of one byte value, or the first count sectors of a file. */
export async function writePayload(data: WriteData, count: number): Promise<Buffer> {
  const bytes = count * SECTOR_SIZE;
  if ('byte' in data) return Buffer.alloc(bytes, data.byte);
  const fh = await fsp.open(data.file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`cannot open ${data.file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    if (bytesRead < bytes) {
      throw new InvalidArgumentError(
        `${data.file} holds ${bytesRead} bytes, fewer than the ${bytes} that ${count} sectors need`,
      );
    }
    return buf;
  } finally {
    await fh.close();
  }
}
