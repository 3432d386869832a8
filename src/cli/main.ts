#!/usr/bin/env node
// The `dmsim` command: runs the program (program.ts) on the process's arguments; a failure is one line on stderr.

import { buildProgram, reportFailure } from './program.js';

async function main(): Promise<void> {
  // A reader that went away (`dmsim read lv 0 8 | head -c 16`) ends the command quietly, as it ends cat.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    process.exitCode = reportFailure(e);
  }
}

await main();
