// `dmsim wait NAME --for merged|invalid` against a real daemon process: a snapshot merge started from the
// command line and waited for, then the origin checked against the data the snapshot showed; a timeout that
// prints the status seen; a condition that can never hold failing at once.

import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, type DaemonHandle, makeBinDir, runShell, startDaemon } from './cli-harness.js';

let work: string;
let env: NodeJS.ProcessEnv;
let daemon: DaemonHandle;

beforeAll(buildCli, BUILD_TIMEOUT_MS);
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dmsim-wait-'));
  const bin = await makeBinDir(work);
  const socket = join(work, 'control');
  env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, DMSIM_SOCKET: socket };
  daemon = await startDaemon(socket, env);
});

afterAll(async () => {
  await daemon?.stop();
  await rm(work, { recursive: true, force: true });
});

const sh = (command: string) => runShell(command, { cwd: work, env });

describe('dmsim wait --for', () => {
  it('waits for a merge started from the command line; the origin then holds what the snapshot showed', async () => {
    await writeFile(join(work, 'data.img'), Buffer.alloc(1024 * 512, 0x4f));
    await writeFile(join(work, 'cow.img'), '');
    await truncate(join(work, 'cow.img'), 1024 * 512);
    const setup = await sh(
      [
        'set -e',
        'dmsim create origin --table "0 1024 snapshot-origin $PWD/data.img"',
        'dmsim suspend origin',
        'dmsim create snap --table "0 1024 snapshot $PWD/data.img $PWD/cow.img P 8"',
        'dmsim resume origin',
        'dmsim write origin 16 32 --byte 0x4e',
        'dmsim suspend origin',
        'dmsim suspend snap',
        'dmsim load origin --table "0 1024 snapshot-merge $PWD/data.img $PWD/cow.img P 8"',
        'dmsim resume origin',
        'dmsim wait origin --for merged --timeout 60',
        'dmsim status origin',
      ].join('\n'),
    );
    expect(setup.stderr).toBe('');
    expect(setup.exit).toBe(0);
    // reference/snapshot.md §6: merged is allocated == metadata, 2C/total 2C (C=8).
    expect(setup.stdout).toBe('0 1024 snapshot-merge 16/1024 16\n');
    expect((await readFile(join(work, 'data.img'))).equals(Buffer.alloc(1024 * 512, 0x4f))).toBe(true);
  });

  it('times out showing the status, and refuses a condition that can never hold', async () => {
    await writeFile(join(work, 'd2.img'), '');
    await truncate(join(work, 'd2.img'), 1024 * 512);
    await writeFile(join(work, 'c2.img'), '');
    await truncate(join(work, 'c2.img'), 1024 * 512);
    await sh(
      'dmsim create o2 --table "0 1024 snapshot-origin $PWD/d2.img" && dmsim create s2 --table "0 1024 snapshot $PWD/d2.img $PWD/c2.img P 8"',
    );
    const timeout = await sh('dmsim wait s2 --for invalid --timeout 0.1');
    expect(timeout.exit).not.toBe(0);
    expect(timeout.stderr).toContain('s2 was not Invalid within 100 ms; its status: 0 1024 snapshot 16/1024 16');
    const never = await sh('dmsim wait s2 --for sync');
    expect(never.exit).not.toBe(0);
    expect(never.stderr).toContain('s2 can never be in sync: no mirror target in s2');
    const both = await sh('dmsim wait s2 3 --for sync');
    expect(both.stderr).toContain('give either EVENT_NR or --for, not both');
  });
});
