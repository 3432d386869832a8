// FLUSH and FUA through the whole stack: NBD -> mapped device (linear) -> a disk with a volatile write cache.
// After a power cut, every write answered before an answered FLUSH, and every answered FUA write, is on
// the platter (proto.md "Ordering of messages and writes"); a plain write after the last flush may be lost,
// and here is (which shows the cache is real and the test can fail).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { NbdExports } from '../../src/nbd/export-registry.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { openExport } from './support/raw-client.js';
import { VolatileDisk } from './support/volatile-disk.js';

let dir: string;
let dm: DeviceMapper;
let exportsReg: NbdExports;
let disk: VolatileDisk;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-nbd-durable-'));
  dm = new DeviceMapper({ bus: new EventBus() });
  disk = new VolatileDisk('disk', 1024);
  dm.addBackingDevice('disk', disk);
  await dm.create('lin', '0 512 linear disk 256');
  exportsReg = new NbdExports({
    open: (name) => dm.open(name),
    defaultListen: { kind: 'unix', path: join(dir, 'nbd.sock') },
  });
  await exportsReg.export('lin');
});

afterEach(async () => {
  await exportsReg.close();
  await dm.close();
  await rm(dir, { recursive: true, force: true });
});

async function onPlatter(sector: number, byte: number): Promise<boolean> {
  const b = Buffer.alloc(512);
  await disk.platter.read(256 + sector, b);
  return b.equals(Buffer.alloc(512, byte));
}

it('answered FLUSH makes every earlier answered write durable; an answered FUA write is durable at once', async () => {
  const c = await openExport(join(dir, 'nbd.sock'), 'lin');
  const write = async (sector: number, byte: number, flags = 0): Promise<void> => {
    c.request(1, sector * 512, 512, { flags, payload: Buffer.alloc(512, byte) });
    expect((await c.reply()).error).toBe(0);
  };
  await write(0, 0xa1);
  expect(await onPlatter(0, 0xa1)).toBe(false); // acknowledged, still only in the cache
  await write(8, 0xb2, 1); // FUA
  expect(await onPlatter(8, 0xb2)).toBe(true);
  await write(16, 0xc3);
  c.request(3, 0, 0);
  expect((await c.reply()).error).toBe(0);
  await write(24, 0xd4); // after the last flush
  disk.crash();
  expect([
    await onPlatter(0, 0xa1),
    await onPlatter(8, 0xb2),
    await onPlatter(16, 0xc3),
    await onPlatter(24, 0xd4),
  ]).toEqual([true, true, true, false]);
  c.close();
});

it('CAN_MULTI_CONN holds: a FLUSH on one connection makes writes answered on another durable', async () => {
  const a = await openExport(join(dir, 'nbd.sock'), 'lin');
  const b = await openExport(join(dir, 'nbd.sock'), 'lin');
  a.request(1, 40 * 512, 512, { payload: Buffer.alloc(512, 0xe5) });
  expect((await a.reply()).error).toBe(0);
  b.request(3, 0, 0);
  expect((await b.reply()).error).toBe(0);
  disk.crash();
  expect(await onPlatter(40, 0xe5)).toBe(true);
  a.close();
  b.close();
});
