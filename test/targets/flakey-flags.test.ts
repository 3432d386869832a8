// flakey's corrupt_bio_byte <flags> mask against the flags each issuer's bio carries (src/dm/bio-flags.ts):
// dmsim replays fixtures/kernel/helpers/jobs/flakey-flags.sh and must print what 6.1 printed
// (flakey-flags.out): O_DIRECT writes carry REQ_SYNC | REQ_IDLE, a linear clone keeps them, kcopyd's chunk
// copy carries none, the snapshot store's header and area writes carry REQ_SYNC. The oracle's disks have no
// write cache (qemu cache=writethrough), so FUA and PREFLUSH never reach flakey there: nor here.

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';
import { EventBus } from '../../src/base/events.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { readFixture } from '../dm/kernel-fixtures.js';

const VDA = '/dev/vda';
const VDB = '/dev/vdb';

async function replay(): Promise<string> {
  const dm = new DeviceMapper({ clock: new ManualClock(1_000_000), bus: new EventBus() });
  const vda = new MemoryDevice(VDA, 65536, { writeCache: false });
  const vdb = new MemoryDevice(VDB, 16384, { writeCache: false });
  dm.addBackingDevice(VDA, vda);
  dm.addBackingDevice(VDB, vdb);
  const out: string[] = [];
  const wr = async (name: string, sector: number, byte: number) => {
    const dev = await dm.open(name);
    await dev.write(sector, Buffer.alloc(4096, byte));
    await dev.close();
    out.push('rc: 0');
  };
  const first = async (disk: BlockDevice, sector: number) => {
    const buf = Buffer.alloc(512);
    await disk.read(sector, buf);
    out.push([...buf.subarray(0, 16)].map((b) => ` ${b.toString(16).padStart(2, '0')}`).join(''));
  };
  let n = 0;
  for (const flags of [2048, 34817, 32768, 0, 1, 131072, 2049, 4096]) {
    const s = n++ * 64;
    out.push(`## flakey corrupt_bio_byte 1 w 65 ${flags}, an O_DIRECT write`);
    await dm.create('f', `0 64 flakey ${VDA} ${s} 0 1 5 corrupt_bio_byte 1 w 65 ${flags}`);
    out.push('write:');
    await wr('f', 0, 0);
    await dm.remove('f');
    out.push('disk:');
    await first(vda, s);
  }
  out.push('## linear over flakey corrupt_bio_byte 1 w 66 34817, an O_DIRECT write to the linear device');
  await dm.create('f', `0 64 flakey ${VDA} 4096 0 1 5 corrupt_bio_byte 1 w 66 34817`);
  await dm.create('l', '0 64 linear /dev/mapper/f 0');
  out.push('write:');
  await wr('l', 0, 0);
  await dm.remove('l');
  await dm.remove('f');
  out.push('disk:');
  await first(vda, 4096);
  for (const flags of [0, 2048, 32768, 131072, 393216]) {
    out.push(`## snapshot, COW on flakey corrupt_bio_byte 1 w 67 ${flags}`);
    await vdb.write(0, Buffer.alloc(4 * 4096));
    await vda.write(16384, Buffer.alloc(4096, 0x11));
    await dm.create('base', `0 64 linear ${VDA} 16384`);
    await dm.create('cow', `0 64 flakey ${VDB} 0 0 1 5 corrupt_bio_byte 1 w 67 ${flags}`);
    await dm.create('snap', '0 64 snapshot /dev/mapper/base /dev/mapper/cow P 8');
    await dm.create('org', '0 64 snapshot-origin /dev/mapper/base');
    out.push('write origin:');
    await wr('org', 0, 0);
    const [st] = await dm.status('snap');
    out.push(`${st!.start} ${st!.length} ${st!.target} ${st!.params}`);
    for (const name of ['org', 'snap', 'cow', 'base']) await dm.remove(name);
    out.push('cow header:');
    await first(vdb, 0);
    out.push('cow area:');
    await first(vdb, 8);
    out.push('cow chunk 2:');
    await first(vdb, 16);
  }
  out.push('## end');
  await dm.close();
  return `${out.join('\n')}\n`;
}

describe('flakey corrupt_bio_byte flags (6.1 flakey-flags.out)', () => {
  it('corrupts the writes whose bio flags hold the mask, as the kernel did', async () => {
    expect(await replay()).toBe(readFixture('flakey-flags.out'));
  });
});
