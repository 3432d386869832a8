// `dmsim mkimg PATH SIZE`: makes a sparse image file (ftruncate; no blocks allocated).

import type { Command } from 'commander';
import { promises as fsp } from 'node:fs';
import { parseSizeBytes } from '../../block/size.js';
import { ExistsError } from '../../dm/errors.js';

export async function makeImage(path: string, size: string, options: { force?: boolean } = {}): Promise<number> {
  const bytes = parseSizeBytes(size);
  let fh;
  try {
    fh = await fsp.open(path, options.force ? 'w' : 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ExistsError(`${path}: already exists (use --force to replace it)`);
    }
    throw e;
  }
  try {
    await fh.truncate(bytes);
  } finally {
    await fh.close();
  }
  return bytes;
}

export function registerMkimg(program: Command): void {
  program
    .command('mkimg')
    .description('make a sparse image file (SIZE: 2048s, 64M, 1G ...)')
    .argument('<path>')
    .argument('<size>')
    .option('-f, --force', 'replace an existing file')
    .action(async (path: string, size: string, opts: { force?: boolean }) => {
      const bytes = await makeImage(path, size, opts);
      process.stdout.write(`${path}: ${bytes / 512} sectors (${bytes} bytes), sparse\n`);
    });
}
