// Devices named by path: opened once and shared between tables, closed when the last table using them goes,
// and the failures (missing file, read-only file) reported as the kernel's "Device lookup failed".

import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import type { FileDevice } from '../../src/block/file-device.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';

let dir: string;
let dm: DeviceMapper;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-files-'));
  dm = new DeviceMapper({ bus: new EventBus() });
});
afterEach(async () => {
  await dm.close();
  await rm(dir, { recursive: true, force: true });
});

describe('devices named by path', () => {
  it('shares one open file between tables (two spellings of one path), and closes it with the last table', async () => {
    const img = join(dir, 'disk.img');
    await writeFile(img, '');
    await truncate(img, 1 << 20);
    await dm.create('a', `0 1024 linear ${img} 0`);
    await dm.create('b', `0 1024 linear ${dir}/./disk.img 1024`);
    const [da] = dm.devices('a');
    const [db] = dm.devices('b');
    expect(da!.bdev).toBe(db!.bdev);
    expect(db!.name).toBe(`${dir}/./disk.img`);
    const file = da!.bdev as FileDevice;
    await dm.remove('a');
    await expect(file.read(0, Buffer.alloc(512))).resolves.toBeUndefined();
    await dm.remove('b');
    await expect(file.read(0, Buffer.alloc(512))).rejects.toThrow(/closed/);
  });

  it('a reload that fails keeps the live table and its devices', async () => {
    const img = join(dir, 'd.img');
    await writeFile(img, Buffer.alloc(8192));
    await dm.create('a', `0 16 linear ${img} 0`);
    await expect(dm.load('a', `0 16 linear ${img} 0\n16 8 linear ${dir}/missing.img 0`)).rejects.toMatchObject({
      code: 'ENODEV',
      message: expect.stringMatching(/^line 2: linear: Device lookup failed: .*missing\.img/),
    });
    const dev = await dm.open('a');
    await dev.write(0, Buffer.alloc(512, 1));
    await dev.close();
  });

  it('a read-only device opens its files read-only; a read-only device is refused for a writable table', async () => {
    const img = join(dir, 'ro.img');
    await writeFile(img, Buffer.alloc(8192));
    await dm.create('r', `0 16 linear ${img} 0`, { readOnly: true });
    expect(dm.devices('r')[0]!.bdev.readOnly).toBe(true);
    // The same file, already open read-only, cannot also be opened for writing by another table.
    await expect(dm.create('w', `0 16 linear ${img} 0`)).rejects.toMatchObject({
      code: 'ENODEV',
      message: expect.stringContaining('cannot be opened for writing as well'),
    });
    dm.addBackingDevice('/dev/rom', new MemoryDevice('/dev/rom', 64, { readOnly: true }));
    await expect(dm.create('w2', '0 16 linear /dev/rom 0')).rejects.toThrow(
      /Device lookup failed: \/dev\/rom is read-only/,
    );
    await dm.create('r2', '0 16 linear /dev/rom 0', { readOnly: true });
  });
});
