// Image files: a sparse file of a given size (ftruncate; no blocks allocated), what `dmsim mkimg` makes.

import { promises as fsp } from 'node:fs';
import { ExistsError } from '../base/errors.js';
import { parseSizeBytes } from '../base/size.js';

/** Makes a sparse image of `size` (a size word: 2048s, 64M, 1G) at path; returns its size in bytes. */
export async function makeImage(path: string, size: string, options: { force?: boolean } = {}): Promise<number> {
  const bytes = parseSizeBytes(size);
  let fh: fsp.FileHandle;
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
