// `dmsim daemon --state` with the state file on a full filesystem (a 64 KiB tmpfs mounted for the test, so
// root only): a verb whose record cannot be written must not take effect (issue 13, item 5). Expectation: the
// README's promise that what runs is what a restart brings back — the daemon before and after a kill -9 shows
// the same devices, tables and data.

import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { readStateFile } from '../../src/control/state-file.js';
import { type DaemonHandle, runCli, startDaemon } from '../support/daemon-process.js';
import { describeNeeding, missingTmpfs, unavailable } from '../support/prerequisites.js';
import { makeImage } from './support/files.js';
import { tagOf, writeData } from './support/sector-model.js';

let dir = '';
let fs = '';
let mounted = false;
const running: DaemonHandle[] = [];
const clients: ControlClient[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-full-'));
  fs = join(dir, 'fs');
  await mkdir(fs);
  mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', fs]).status === 0;
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const d of running.splice(0)) await d.kill('SIGKILL');
  if (mounted) spawnSync('umount', [fs]);
  await rm(dir, { recursive: true, force: true });
});

/** Writes to a file in the filesystem until it is full (ENOSPC). */
async function fill(path: string): Promise<void> {
  const fh = await fsp.open(path, 'w');
  try {
    for (;;) await fh.write(Buffer.alloc(4096, 0xee));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    await fh.close();
  }
}

describeNeeding(missingTmpfs(), 'the state file on a full filesystem', () => {
  it('create, remove and a table swap fail, are undone, and a kill -9 and restart shows the same devices', async (ctx) => {
    if (!mounted) unavailable(ctx, 'the test tmpfs could not be mounted');
    const socket = join(dir, 'control');
    const state = join(fs, 'state.json');
    const [a, b] = [join(dir, 'a.img'), join(dir, 'b.img')];
    await makeImage(a, 64 * 512);
    await makeImage(b, 64 * 512);
    running.push(await startDaemon(socket, ['--state', state]));
    let c = await ControlClient.connect(socket);
    clients.push(c);
    await c.request('create', { name: 'keep', table: `0 64 linear ${a} 0` });
    await c.write('keep', 0, writeData(0, 8, 1));
    await c.request('flush', { name: 'keep' });
    const recorded = await readStateFile(state);
    const filler = join(fs, 'filler');
    await fill(filler);

    /** What a restart would bring back and what runs now must be the same: the recorded `keep` on a.img. */
    const expectOnlyKeep = async (): Promise<void> => {
      expect((await c.request('ls', {})).map((d) => d.name)).toEqual(['keep']);
      expect((await c.request('table', {})).map((l) => `${l.name}: ${l.target} ${l.params}`)).toEqual([
        `keep: linear ${a} 0`,
      ]);
      const data = await c.read('keep', 0, 8);
      expect(Array.from({ length: 8 }, (_, s) => tagOf(s, data.subarray(s * 512, (s + 1) * 512)))).toEqual(
        Array<number>(8).fill(1),
      );
    };

    const created = await runCli(['create', 'new', '--socket', socket, '--table', `0 64 linear ${b} 0`]);
    expect(created.status).toBe(1);
    expect(created.stderr).toMatch(/state file .*: cannot record the devices: .*ENOSPC.*; the change was undone/);
    await expectOnlyKeep();

    const removed = await runCli(['remove', 'keep', '--socket', socket]);
    expect(removed.status).toBe(1);
    expect(removed.stderr).toMatch(/ENOSPC.*; the change was undone/);
    await expectOnlyKeep();

    await c.request('load', { name: 'keep', table: `0 64 linear ${b} 0` }); // the inactive table is not recorded
    await expect(c.request('resume', { name: 'keep' })).rejects.toMatchObject({
      code: 'EIO',
      message: expect.stringMatching(/ENOSPC.*; the change was undone/),
    });
    await expectOnlyKeep();

    expect(await readStateFile(state)).toEqual(recorded);
    expect((await readdir(fs)).sort()).toEqual(['filler', 'state.json']); // no temporary file left behind

    for (const cl of clients.splice(0)) cl.close();
    await running.pop()!.kill('SIGKILL');
    await rm(filler); // a daemon proves at start that it can write its state file
    running.push(await startDaemon(socket, ['--state', state]));
    c = await ControlClient.connect(socket);
    clients.push(c);
    await expectOnlyKeep();
  });
});
