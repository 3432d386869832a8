// dmsim/testing: a vitest test of a snapshot flow written with the fixture, and the teardown checked from the
// outside — after a test body that fails midway with a stack of devices, an open handle and an NBD export, no
// device is left, the export's socket is gone and the temporary directory with its images is deleted.

import { access } from 'node:fs/promises';
import { test as base, describe, expect, it } from 'vitest';
import { type Testbed, testbedFixture, withTestbed } from '../../src/testing/testbed.js';

const test = base.extend<{ tb: Testbed }>({ tb: testbedFixture });

const S = 2048;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** A stack three deep over two images, a handle open on the top and the origin exported over NBD. */
async function buildStack(tb: Testbed): Promise<void> {
  const data = await tb.image('data.img', `${S}s`);
  const cow = await tb.image('cow.img', '1M');
  await tb.dm.create('base', `0 ${S} linear ${data} 0`);
  await tb.dm.create('origin', `0 ${S} snapshot-origin /dev/mapper/base`);
  await tb.dm.suspend('origin');
  await tb.dm.create('snap', `0 ${S} snapshot /dev/mapper/base ${cow} P 8`);
  await tb.dm.resume('origin');
  const h = await tb.open('snap');
  await h.write(0, Buffer.alloc(4096, 1));
  await tb.exportNbd('origin');
}

describe('dmsim/testing', () => {
  test('a snapshot flow with the vitest fixture: old data on the snapshot, then merged back', async ({ tb }) => {
    const data = await tb.image('data.img', `${S}s`);
    const cow = await tb.image('cow.img', '1M');
    await tb.dm.create('origin', `0 ${S} snapshot-origin ${data}`);
    const o = await tb.open('origin');
    await o.write(0, Buffer.alloc(4096, 0x41));
    await tb.dm.suspend('origin');
    await tb.dm.create('snap', `0 ${S} snapshot ${data} ${cow} P 8`);
    await tb.dm.resume('origin');
    await o.write(0, Buffer.alloc(4096, 0x42));
    const snap = await tb.open('snap');
    const old = Buffer.alloc(4096);
    await snap.read(0, old);
    expect(old.equals(Buffer.alloc(4096, 0x41))).toBe(true);
    await snap.close();
    await o.close();
    await tb.dm.suspend('origin');
    await tb.dm.suspend('snap');
    await tb.dm.load('origin', `0 ${S} snapshot-merge ${data} ${cow} P 8`);
    await tb.dm.resume('origin');
    const merged = await tb.waitFor('origin', 'merged', { timeoutMs: 60_000 });
    expect(merged.lines[0]!.params).toBe('16/2048 16');
    const back = await tb.open('origin');
    const now = Buffer.alloc(4096);
    await back.read(0, now);
    expect(now.equals(Buffer.alloc(4096, 0x41))).toBe(true);
    // The handle stays open: the fixture's teardown closes it.
  });

  it('a body that fails midway leaves no device, export, image or directory behind', async () => {
    let seen: Testbed | undefined;
    const boom = new Error('the test failed here');
    await expect(
      withTestbed(async (tb) => {
        seen = tb;
        await buildStack(tb);
        expect(tb.dm.ls().map((d) => d.name)).toEqual(['base', 'origin', 'snap']);
        expect(await exists(`${tb.dir}/nbd.sock`)).toBe(true);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(seen!.dm.ls()).toEqual([]);
    expect(await exists(`${seen!.dir}/nbd.sock`)).toBe(false);
    expect(await exists(seen!.dir)).toBe(false);
  });

  it('the vitest fixture tears down the same way when the test body throws', async () => {
    let seen: Testbed | undefined;
    const use = async (tb: Testbed): Promise<void> => {
      seen = tb;
      await buildStack(tb);
      throw new Error('assertion failed');
    };
    await expect(testbedFixture({}, use)).rejects.toThrow('assertion failed');
    expect(seen!.dm.ls()).toEqual([]);
    expect(await exists(seen!.dir)).toBe(false);
  });
});
