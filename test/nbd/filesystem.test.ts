// A real filesystem on a dmsim device: nbdfuse turns the NBD export of a mirror into a file, mkfs.ext4 and
// e2fsck work on it, a loop device mounts it, a file written there survives a remount, and both mirror legs
// end up identical. Needs root, /dev/fuse, loop devices, nbdfuse (libnbd-bin), e2fsprogs and util-linux;
// skips, saying which is missing, otherwise (with CI=true it fails naming it).

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { NbdExports } from '../../src/nbd/export-registry.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { firstMissing, itNeeding, missingFuse, missingLoopDevices, missingTools } from '../support/prerequisites.js';

const missing = firstMissing(
  missingFuse(),
  missingTools('nbdfuse', 'mkfs.ext4', 'e2fsck', 'mount', 'umount'),
  missingLoopDevices(),
);

function sh(script: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', script], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
    });
  });
}

itNeeding(missing, 'mkfs.ext4, e2fsck and a loop mount on an nbdfuse view of an exported mirror', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dmsim-nbd-fs-'));
  const mnt = join(dir, 'nbdfuse');
  const fs = join(dir, 'fs');
  await mkdir(mnt);
  await mkdir(fs);
  const dm = new DeviceMapper({ bus: new EventBus() });
  const legs = [new MemoryDevice('leg0', 131072), new MemoryDevice('leg1', 131072)];
  dm.addBackingDevice('leg0', legs[0]!);
  dm.addBackingDevice('leg1', legs[1]!);
  await dm.create('mir', '0 131072 mirror core 2 1024 nosync 2 leg0 0 leg1 0');
  const nbd = new NbdExports({ open: (n) => dm.open(n), defaultListen: { kind: 'unix', path: join(dir, 'nbd.sock') } });
  await nbd.export('mir');
  let fuse: ChildProcess | null = null;
  try {
    fuse = spawn('nbdfuse', [mnt, '--unix', join(dir, 'nbd.sock')], { stdio: 'ignore' });
    const image = join(mnt, 'nbd');
    for (let i = 0; i < 400 && !existsSync(image); i++) await new Promise((r) => setTimeout(r, 25));
    expect(existsSync(image)).toBe(true);

    expect((await sh(`mkfs.ext4 -q -F ${image}`)).code).toBe(0);
    const fsck = await sh(`e2fsck -fn ${image}`);
    expect(fsck.out).toContain('11/16384 files');
    expect(fsck.code).toBe(0);
    const loop = await sh(
      `L=$(losetup -f --show ${image}) && mount $L ${fs} && echo 'written through dmsim' > ${fs}/hello && umount ${fs} && ` +
        `mount -o ro $L ${fs} && cat ${fs}/hello; umount ${fs}; losetup -d $L`,
    );
    expect(loop.out).toBe('written through dmsim\n');
    expect((await sh(`e2fsck -fn ${image}`)).code).toBe(0);
  } finally {
    await sh(`umount ${mnt}`);
    if (fuse && fuse.exitCode === null) await new Promise((r) => fuse!.once('exit', r));
    await nbd.close();
    await dm.close();
    await rm(dir, { recursive: true, force: true });
  }
  // Both legs hold the same filesystem: ext4's magic 0xEF53 at byte 1080, and every byte equal.
  const a = Buffer.alloc(131072 * 512);
  const b = Buffer.alloc(131072 * 512);
  await legs[0]!.read(0, a);
  await legs[1]!.read(0, b);
  expect(a.readUInt16LE(1080)).toBe(0xef53);
  expect(a.equals(b)).toBe(true);
});
