// Safety: who can reach the control socket, which paths a table may open, and that images keep their size.
// Block-device cases use loop devices (root and losetup needed; skipped with the reason elsewhere, failing
// with it when CI=true; always detached in finally). Expectations: Linux's exclusive-open rule (O_EXCL on a
// block device fails with EBUSY while it is mounted or claimed), Unix socket permissions, and the sizes the
// test itself gave the images.

import { execFile, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { FileDevice } from '../../src/block/file-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { startDaemon } from '../support/daemon-process.js';
import { describeNeeding, missingLoopDevices, missingRoot, unavailable } from '../support/prerequisites.js';
import { makeImage, sizesOf } from './support/files.js';
import { writeData } from './support/sector-model.js';

const run = promisify(execFile);

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-safety-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A loop device over a fresh 16 MiB sparse file, detached after fn whatever happens. */
async function withLoop(fn: (loop: string) => Promise<void>): Promise<void> {
  const file = join(dir, 'backing.img');
  await makeImage(file, 16 * 2 ** 20);
  const loop = (await run('losetup', ['--find', '--show', file])).stdout.trim();
  try {
    await fn(loop);
  } finally {
    await run('losetup', ['-d', loop]).catch(() => undefined);
  }
}

describeNeeding(missingRoot('to try another uid'), 'the control socket', () => {
  it('is 0600 in a 0700 directory, and another user cannot connect to it', async () => {
    const sockDir = join(dir, 'run');
    const socket = join(sockDir, 'control');
    const daemon = await startDaemon(socket);
    try {
      expect((await stat(socket)).mode & 0o777).toBe(0o600);
      expect((await stat(sockDir)).mode & 0o777).toBe(0o700);
      await fsp.chmod(dir, 0o755); // let `nobody` reach the socket's directory, so only the socket's own modes decide
      const probe = spawn(
        process.execPath,
        [
          '-e',
          `require('net').connect(${JSON.stringify(socket)}).on('connect',()=>process.exit(0)).on('error',(e)=>{console.log(e.code);process.exit(3)})`,
        ],
        {
          uid: 65534,
          gid: 65534,
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let out = '';
      probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => probe.once('exit', r));
      expect(code).toBe(3);
      expect(out.trim()).toBe('EACCES');
    } finally {
      await daemon.kill('SIGTERM');
    }
  });
});

describeNeeding(missingLoopDevices(), 'busy block devices', () => {
  it('refuses a block device another process holds (EBUSY naming it) unless forced', async () => {
    await withLoop(async (loop) => {
      // Another process claims it exclusively, as mkfs, mount or another device-mapper would.
      const holder = spawn(
        process.execPath,
        [
          '-e',
          `const fs=require('fs');fs.openSync(${JSON.stringify(loop)},fs.constants.O_RDONLY|fs.constants.O_EXCL);console.log('held');setInterval(()=>{},1000)`,
        ],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      try {
        await new Promise<void>((r) => holder.stdout.once('data', () => r()));
        const err = await FileDevice.open(loop).catch((e: unknown) => e);
        expect(err).toMatchObject({
          code: 'EBUSY',
          message: expect.stringMatching(new RegExp(`open by node \\(pid ${holder.pid}\\)`)),
        });
        expect((err as Error).message).toMatch(/--force/);

        const dm = new DeviceMapper({ bus: new EventBus() });
        await expect(dm.create('l', `0 64 linear ${loop} 0`)).rejects.toMatchObject({ code: 'EBUSY' });
        expect(dm.ls()).toEqual([]);
        await dm.close();

        const forced = new DeviceMapper({ bus: new EventBus(), forceOpen: true });
        await forced.create('l', `0 64 linear ${loop} 0`);
        expect(forced.ls().map((d) => d.name)).toEqual(['l']);
        await forced.close();
      } finally {
        holder.kill('SIGKILL');
      }
    });
  });

  it('refuses a mounted block device (EBUSY "mounted on") unless forced', async (ctx) => {
    await withLoop(async (loop) => {
      const mnt = join(dir, 'mnt');
      await fsp.mkdir(mnt);
      try {
        await run('mkfs.ext4', ['-q', loop]);
        await run('mount', [loop, mnt]);
      } catch (e) {
        unavailable(ctx, `cannot make and mount a filesystem here: ${(e as Error).message.split('\n')[0]}`);
      }
      try {
        await expect(FileDevice.open(loop)).rejects.toMatchObject({
          code: 'EBUSY',
          message: expect.stringContaining(`mounted on ${mnt}`),
        });
        const forced = await FileDevice.open(loop, { readOnly: true, force: true });
        expect(forced.sizeSectors).toBe(32768);
        await forced.close();
      } finally {
        await run('umount', [mnt]).catch(() => undefined);
      }
    });
  });
});

describe('paths a table may not open', () => {
  it.each([
    ['a character device', () => '/dev/null'],
    ['a directory', () => dir],
    ['a FIFO', () => join(dir, 'fifo')],
  ])('refuses %s (EINVAL; in a table ENODEV, as dm_get_device) and creates nothing', async (_what, path) => {
    if (path().endsWith('fifo')) await run('mkfifo', [path()]);
    await expect(FileDevice.open(path())).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringMatching(/not a regular file or block device/),
    });
    const dm = new DeviceMapper({ bus: new EventBus() });
    await expect(dm.create('x', `0 8 linear ${path()} 0`)).rejects.toMatchObject({
      code: 'ENODEV',
      message: expect.stringMatching(/Device lookup failed/),
    });
    expect(dm.ls()).toEqual([]);
    await dm.close();
  });
});

describe('image sizes', () => {
  it('no target grows or truncates an image, and an image only read keeps its mtime', async () => {
    const S = 512;
    const f = (n: string): string => join(dir, `${n}.img`);
    await makeImage(f('origin'), writeData(0, S, 0));
    await makeImage(f('cow'), 256 * 512);
    for (const n of ['a', 'b', 'lin', 'fl', 'dl']) await makeImage(f(n), S * 512);
    await makeImage(f('log'), 8192);
    await makeImage(f('ro'), writeData(0, S, 3));
    const images = ['origin', 'cow', 'a', 'b', 'lin', 'fl', 'dl', 'log', 'ro'].map(f);
    const before = await sizesOf(images);
    const roMtime = (await stat(f('ro'))).mtimeMs;

    const dm = new DeviceMapper({ bus: new EventBus() });
    await dm.create('lin', `0 ${S} linear ${f('lin')} 0`);
    await dm.create('origin', `0 ${S} snapshot-origin ${f('origin')}`);
    await dm.suspend('origin');
    await dm.create('snap', `0 ${S} snapshot ${f('origin')} ${f('cow')} P 8`);
    await dm.resume('origin');
    await dm.create('mir', `0 ${S} mirror disk 2 ${f('log')} 64 2 ${f('a')} 0 ${f('b')} 0`);
    await dm.create('fl', `0 ${S} flakey ${f('fl')} 0 1 1`);
    await dm.create('dl', `0 ${S} delay ${f('dl')} 0 1`);
    await dm.create('ro', `0 ${S} linear ${f('ro')} 0`, { readOnly: true });
    for (const name of ['lin', 'origin', 'snap', 'mir', 'fl', 'dl']) {
      const d = await dm.open(name);
      for (const sector of [0, S - 8, 100]) await d.write(sector, writeData(sector, 8, 5)).catch(() => undefined); // flakey may refuse
      await expect(d.write(S - 4, writeData(S - 4, 8, 5))).rejects.toMatchObject({ code: 'EIO' }); // past the end
      await d.flush().catch(() => undefined);
      await d.close();
    }
    const ro = await dm.open('ro');
    await ro.read(0, Buffer.alloc(S * 512));
    await ro.close();
    await dm.close();
    expect(await sizesOf(images)).toEqual(before);
    expect((await stat(f('ro'))).mtimeMs).toBe(roMtime);
  });
});
