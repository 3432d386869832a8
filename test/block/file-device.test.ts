import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDevice } from '../../src/block/file-device.js';
import { makeImage } from '../../src/block/image.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-fd-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileDevice', () => {
  it('reads and writes at byte offset sector * 512 of the file, which stays sparse', async () => {
    const path = join(dir, 'a.img');
    await makeImage(path, '64M');
    const dev = await FileDevice.open(path);
    expect(dev.sizeSectors).toBe(131072);
    await dev.write(100, Buffer.alloc(1024, 0x5a));
    await dev.flush();
    await dev.close();
    const bytes = await readFile(path);
    expect(bytes.subarray(100 * 512, 102 * 512).every((b) => b === 0x5a)).toBe(true);
    expect(bytes.subarray(0, 100 * 512).every((b) => b === 0)).toBe(true);
    expect((await stat(path)).blocks * 512).toBeLessThan(1024 * 1024);
  });

  it('refuses a request past the end before writing any byte, naming device and sector', async () => {
    const path = join(dir, 'b.img');
    await makeImage(path, '8s');
    const dev = await FileDevice.open(path);
    await expect(dev.write(6, Buffer.alloc(1536, 1))).rejects.toMatchObject({
      code: 'EIO',
      message: expect.stringMatching(/b\.img.*sector 6.*beyond the end/),
    });
    await dev.close();
    expect((await readFile(path)).every((b) => b === 0)).toBe(true);
  });

  it('refuses a length that is not a whole number of sectors', async () => {
    const path = join(dir, 'c.img');
    await makeImage(path, '8s');
    const dev = await FileDevice.open(path);
    await expect(dev.read(0, Buffer.alloc(100))).rejects.toMatchObject({
      code: 'EIO',
      message: expect.stringContaining('not a multiple of 512'),
    });
    await dev.close();
  });

  it('refuses writes in read-only mode', async () => {
    const path = join(dir, 'd.img');
    await makeImage(path, '8s');
    const dev = await FileDevice.open(path, { readOnly: true });
    await expect(dev.write(0, Buffer.alloc(512))).rejects.toMatchObject({ code: 'EROFS' });
    await dev.close();
  });

  it('refuses a path that is neither a regular file nor a block device', async () => {
    await expect(FileDevice.open(dir)).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('not a regular file or block device'),
    });
    await expect(FileDevice.open('/dev/null')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(FileDevice.open(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENXIO' });
  });

  it('refuses a file whose size is not a whole number of sectors', async () => {
    const path = join(dir, 'odd.img');
    await writeFile(path, Buffer.alloc(1000));
    await expect(FileDevice.open(path)).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('1000 bytes'),
    });
  });
});
