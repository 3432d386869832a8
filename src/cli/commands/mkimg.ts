// `dmsim mkimg PATH SIZE [-f]`: makes a sparse image file (ftruncate; no blocks allocated).

import type { Command } from 'commander';
import { registerVerb } from '../daemon-session.js';

export function registerMkimg(program: Command): void {
  registerVerb(program, 'mkimg', { socket: false }, async ({ path, size, force }) => {
    const { makeImage } = await import('../../block/image.js'); // loaded here: start-up stays light
    const bytes = await makeImage(path, size, { force });
    process.stdout.write(`${path}: ${bytes / 512} sectors (${bytes} bytes), sparse\n`);
  });
}
