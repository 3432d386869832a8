// `dmsim mkimg PATH SIZE`: makes a sparse image file (ftruncate; no blocks allocated).

import type { Command } from 'commander';
import { makeImage } from '../../block/image.js';

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
