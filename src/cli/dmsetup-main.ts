#!/usr/bin/env node
// The `dmsim-dmsetup` command (and the `dmsetup` and `dmstats` of `dmsim shim-path`): dmsetup's personality of
// dmsim, for scripts written for the real dmsetup. It reads dmsetup's command line (dmsetup-argv.ts), runs the
// same shared verb `dmsim` runs against the daemon (socket from --socket, $DMSIM_SOCKET or the default, as dmsim
// finds it), prints devices as the kernel numbers them (kernel-numbers.ts) and fails as dmsetup fails
// (dmsetup-errors.ts): its lines on stderr, "Command failed.", exit 1.

import { isDmError } from '../base/errors.js';
import { DM_MAJOR } from '../dm/device-pool.js';
import { enterDmsetupPersonality, withDaemon } from './daemon-session.js';
import { readDmsetupArgv } from './dmsetup-argv.js';
import { dmsetupFailure, type FailedCommand } from './dmsetup-errors.js';
import { buildProgram, reportFailure } from './program.js';

/** The value of the last -u/--uuid among the words (dmsetup create's UUID). */
function uuidOf(argv: readonly string[]): string | undefined {
  let uuid: string | undefined;
  argv.forEach((w, i) => {
    if (w === '-u' || w === '--uuid') uuid = argv[i + 1];
    else if (w.startsWith('--uuid=')) uuid = w.slice('--uuid='.length);
    else if (/^-u./.test(w)) uuid = w.slice(2);
  });
  return uuid;
}

/** The number the kernel would have given a new device: idr_alloc's lowest free minor (as dmsim's core does). */
async function nextMinor(): Promise<number> {
  const used = new Set(await withDaemon({}, async (c) => (await c.request('ls', {})).map((d) => d.minor)));
  let minor = 0;
  while (used.has(minor)) minor++;
  return minor;
}

async function main(): Promise<void> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const words = process.argv.slice(2);
  const read = readDmsetupArgv(words);
  enterDmsetupPersonality();
  try {
    await buildProgram().name('dmsetup').parseAsync(read.argv, { from: 'user' });
  } catch (e) {
    const cmd: FailedCommand = {
      command: read.command ?? '',
      ...(read.device !== undefined ? { device: read.device } : {}),
      byPath: words.some((w) => w === `/dev/mapper/${read.device}`),
    };
    // create is DM_DEV_CREATE then a reload of the new device: a name already taken fails the first (EBUSY).
    const notable = read.argv.includes('-n') || read.argv.includes('--notable');
    if (read.command === 'create' && isDmError(e) && e.code !== 'EBUSY' && !notable) {
      cmd.reloadOf = `${DM_MAJOR}:${await nextMinor().catch(() => 0)}`;
    } else {
      const uuid = read.command === 'create' ? uuidOf(read.argv) : undefined;
      if (uuid !== undefined) cmd.uuid = uuid;
    }
    const lines = dmsetupFailure(e, cmd);
    if (lines === undefined) process.exitCode = reportFailure(e);
    else {
      process.stderr.write(lines);
      process.exitCode = 1;
    }
  }
}

await main();
