// kcopyd over real block devices: two loop devices backed by sparse files. Needs root and a working
// `losetup`; elsewhere the tests are skipped with the reason (with CI=true they fail naming it). Loop devices are always detached in `finally`.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { FileDevice } from '../../src/block/file-device.js';
import { KcopydEngine } from '../../src/kcopyd/engine.js';
import { describeNeeding, missingLoopDevices, missingTmpfs } from '../support/prerequisites.js';

const run = promisify(execFile);
const SIZE = 8 * 2 ** 20;

/** Attaches sparse backing files as loop devices, runs fn, and always detaches them. */
async function withLoops(count: number, fn: (loops: string[], files: string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dmsim-loop-'));
  const loops: string[] = [];
  try {
    const files: string[] = [];
    for (let i = 0; i < count; i++) {
      const f = join(dir, `backing${i}.img`);
      await writeFile(f, '');
      await truncate(f, SIZE);
      files.push(f);
      loops.push((await run('losetup', ['--find', '--show', f])).stdout.trim());
    }
    await fn(loops, files);
  } finally {
    for (const l of loops) await run('losetup', ['-d', l]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

function pattern(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) b.writeUInt32LE((Math.imul(i + 1, 2654435761) | 1) >>> 0, i);
  return b;
}

describeNeeding(missingLoopDevices(), 'kcopyd on loop devices', () => {
  it('copies between two loop devices, each claimed exclusively', async () => {
    await withLoops(2, async ([a, b], [, fileB]) => {
      const src = await FileDevice.open(a!);
      const dst = await FileDevice.open(b!);
      try {
        expect(src.isBlockDevice).toBe(true);
        expect(src.sizeSectors).toBe(SIZE / 512); // from sysfs, not fstat
        await expect(FileDevice.open(a!)).rejects.toMatchObject({ code: 'EBUSY' });
        const data = pattern(6 * 2 ** 20);
        await src.write(0, data);
        const engine = new KcopydEngine({ bus: new EventBus() });
        const client = engine.createClient({ owner: 'loop-test' });
        // 12288 sectors at 1024 per sub-job: split into 12 chunks
        const result = await client.copyAsync({ bdev: src, sector: 0, count: 12288 }, [
          { bdev: dst, sector: 2048, count: 12288 },
        ]);
        expect(result).toEqual({ readErr: false, writeErr: 0 });
        await client.destroy();
        await dst.flush();
        const back = Buffer.alloc(data.length);
        await dst.read(2048, back);
        expect(back.equals(data)).toBe(true);
      } finally {
        await src.close();
        await dst.close();
      }
      // Through the loop device into the backing file.
      const file = await readFile(fileB!);
      expect(file.subarray(2048 * 512, 2048 * 512 + 6 * 2 ** 20).equals(pattern(6 * 2 ** 20))).toBe(true);
      expect(file.subarray(0, 2048 * 512).every((x) => x === 0)).toBe(true);
    });
  });

  it('`dmsim copy` copies between loop devices and exits 0', async () => {
    await withLoops(2, async ([a, b]) => {
      const data = pattern(2 ** 20);
      const src = await FileDevice.open(a!);
      await src.write(8, data);
      await src.flush();
      await src.close();
      const out = await run(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'copy', '--from', `${a}:8+2048`, '--to', `${b}:0`, '--fsync'],
        { cwd: process.cwd() },
      );
      expect(out.stdout.split('\n')[0]).toBe('read_err=0 write_err=0x0');
      const dst = await FileDevice.open(b!, { readOnly: true });
      try {
        const back = Buffer.alloc(data.length);
        await dst.read(0, back);
        expect(back.equals(data)).toBe(true);
      } finally {
        await dst.close();
      }
    });
  });
});

describeNeeding(missingTmpfs(), 'dmsim copy on a full filesystem', () => {
  it('reports the destination write error bit and exits 1', async () => {
    const mnt = await mkdtemp(join(tmpdir(), 'dmsim-full-'));
    const src = `${mnt}-src.img`; // beside the mount point, on the real filesystem
    let mounted = false;
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=1M', 'tmpfs', mnt]);
      mounted = true;
      await writeFile(src, pattern(2 * 2 ** 20));
      const dst = join(mnt, 'dst.img');
      await writeFile(dst, '');
      await truncate(dst, 4 * 2 ** 20); // sparse: 4 MiB of file on 1 MiB of tmpfs
      const r = await run(process.execPath, [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'copy',
        '--from',
        `${src}:0+4096`,
        '--to',
        `${dst}:0`,
      ]).then(
        (ok) => ({ code: 0, ...ok }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect(r.code).toBe(1);
      expect(r.stdout.split('\n')[0]).toBe('read_err=0 write_err=0x1');
      expect(r.stderr).toMatch(/write error on .*dst\.img sectors \d+\+\d+: .*ENOSPC/);
    } finally {
      if (mounted) await run('umount', [mnt]).catch(() => undefined);
      await rm(mnt, { recursive: true, force: true });
      await rm(src, { force: true });
    }
  });
});
