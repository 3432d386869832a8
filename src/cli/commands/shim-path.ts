// `dmsim shim-path`: prints a folder holding `dmsetup` and `dmstats` that run dmsim's dmsetup personality
// (src/cli/dmsetup-main.ts), so that `PATH=$(dmsim shim-path):$PATH script.sh` runs a script written for the real
// dmsetup, unchanged, against the running daemon. The scripts name this node and this installation's files, so
// the folder is keyed by them (one per installation and user) and written afresh each time.

import { createHash } from 'node:crypto';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';

/** node's own options for this process, a loader named as a package (`--import tsx`) made a full address. */
function nodeOptions(): string[] {
  const fromHere = createRequire(join(process.cwd(), 'package.json'));
  return process.execArgv.map((w, i) => {
    const prev = process.execArgv[i - 1];
    if ((prev !== '--import' && prev !== '--loader') || /^(file:|\/|\.)/.test(w)) return w;
    try {
      return pathToFileURL(fromHere.resolve(w)).href;
    } catch {
      return w;
    }
  });
}

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The shim scripts: dmsetup runs the personality; dmstats is `dmsetup stats`, as dmsetup itself treats it. */
function shims(): Record<'dmsetup' | 'dmstats', string> {
  const self = fileURLToPath(import.meta.url);
  // Next to this module: .js when installed, .ts when run from the sources (node's execArgv then loads tsx).
  const main = fileURLToPath(new URL(`../dmsetup-main${extname(self)}`, import.meta.url));
  const node = [process.execPath, ...nodeOptions(), main].map(quote).join(' ');
  return {
    dmsetup: `#!/bin/sh\nexec ${node} "$@"\n`,
    dmstats: `#!/bin/sh\nexec ${node} stats "$@"\n`,
  };
}

async function writeShims(): Promise<string> {
  const scripts = shims();
  const key = createHash('sha256').update(scripts.dmsetup).digest('hex').slice(0, 12);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = join(tmpdir(), `dmsim-shim-${uid}-${key}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [name, text] of Object.entries(scripts)) {
    // Written beside and renamed over, so a script running the shim never sees half a file.
    const part = join(dir, `.${name}.${process.pid}`);
    await writeFile(part, text);
    await chmod(part, 0o755);
    await rename(part, join(dir, name));
  }
  return dir;
}

export function registerShimPath(program: Command): void {
  program
    .command('shim-path')
    .description('print a folder holding dmsetup and dmstats that run dmsim (PATH=$(dmsim shim-path):$PATH script.sh)')
    .action(async () => {
      process.stdout.write(`${await writeShims()}\n`);
    });
}
