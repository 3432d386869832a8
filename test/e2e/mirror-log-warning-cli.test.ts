// The CLI prints the old-log warning (targets/mirror/log-legs.ts) on stderr for the verb that loaded the table,
// and the verb still succeeds: the kernel accepts the table, dmsim only says what it will do.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, type DaemonHandle, makeBinDir, runShell, startDaemon } from './cli-harness.js';

let work: string;
let env: NodeJS.ProcessEnv;
let daemon: DaemonHandle;

beforeAll(buildCli, BUILD_TIMEOUT_MS);
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dmsim-logwarn-'));
  const bin = await makeBinDir(work);
  env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, DMSIM_SOCKET: join(work, 'control') };
  daemon = await startDaemon(join(work, 'control'), env);
});

afterAll(async () => {
  await daemon?.stop();
  await rm(work, { recursive: true, force: true });
});

it('dmsim load of a mirror reusing its disk log with a new leg warns on stderr and succeeds', async () => {
  const sh = (command: string) => runShell(command, { cwd: work, env });
  const setup = await sh(
    [
      'set -e',
      'for f in a b c; do dmsim mkimg $f.img 1M; done; dmsim mkimg log.img 4K',
      'dmsim create m --table "0 2048 mirror disk 2 $PWD/log.img 128 2 $PWD/a.img 0 $PWD/b.img 0"',
      'dmsim wait m --for sync --timeout 60',
      'dmsim suspend m',
    ].join('\n'),
  );
  expect(setup.stderr).toBe('');
  const load = await sh('dmsim load m --table "0 2048 mirror disk 2 $PWD/log.img 128 2 $PWD/a.img 0 $PWD/c.img 0"');
  expect(load.exit).toBe(0);
  expect(load.stdout).toBe('');
  expect(load.stderr).toBe(
    `dmsim: warning: m: the disk log ${work}/log.img was last used with other legs and will not resync ${work}/c.img: its in-sync bits describe the old legs (the kernel does the same, silently). To copy onto a new leg, use a fresh zeroed log or add "sync" after the region size.\n`,
  );
  const resume = await sh('dmsim resume m && dmsim status m');
  expect(resume.stderr).toBe('');
  expect(resume.stdout).toBe(`0 2048 mirror 2 ${work}/a.img ${work}/c.img 16/16 1 AA 3 disk ${work}/log.img A\n`);
});
