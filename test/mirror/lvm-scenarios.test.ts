// The LVM2 mirror test scenarios that apply to one mirror device (reference/mirror.md section 8), run
// through dmsim's DeviceMapper the way lvm2's test harness drives the kernel: PVs as linear devices over
// disks, images (_mimage_N) and the log (_mlog) as linear devices over PVs, failures injected by replacing
// a PV's table (disable_dev: an error table; a flakey table), repairs by reloading the mirror's table.
// Expected results are the kernel's documented behaviour and the oracle transcripts' observations.

import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { KcopydEngine } from '../../src/kcopyd/engine.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { raid1ResyncThrottle } from '../../targets/mirror/resync-throttle.js';
import { settle } from './support/harness.js';

const DISK = 8192; // sectors per PV disk
const LV = 4096; // sectors in the mirror
const REGION = 256; // 16 regions

class Lab {
  readonly clock = new ManualClock();
  readonly bus = new EventBus();
  readonly engine = new KcopydEngine({ bus: this.bus, clock: this.clock });
  readonly dm = new DeviceMapper({ bus: this.bus, clock: this.clock, kcopyd: this.engine });
  readonly disks: MemoryDevice[] = [];
  readonly recovered: number[] = [];

  constructor() {
    this.bus.on((e) => {
      if (e.type === 'mirror.recovery' && e.phase === 'end' && e.ok) this.recovered.push(e.region);
    });
  }

  /** PVs pv0..pvN-1 and the images and log of an LV named lv, each a linear device as LVM builds them. */
  async setup(images: number, withLog = true): Promise<void> {
    for (let i = 0; i < images + 1; i++) {
      const disk = new MemoryDevice(`disk${i}`, DISK);
      this.disks.push(disk);
      this.dm.addBackingDevice(`/dev/disk${i}`, disk);
      await this.dm.create(`pv${i}`, `0 ${DISK} linear /dev/disk${i} 0`);
    }
    for (let i = 0; i < images; i++) await this.dm.create(`lv_mimage_${i}`, `0 ${LV} linear /dev/mapper/pv${i} 0`);
    if (withLog) await this.dm.create('lv_mlog', `0 8 linear /dev/mapper/pv${images} 0`);
  }

  legs(n: number): string {
    return `${n} ${Array.from({ length: n }, (_, i) => `/dev/mapper/lv_mimage_${i} 0`).join(' ')}`;
  }

  async swap(name: string, table: string, noflush = false): Promise<void> {
    if (noflush) await this.dm.suspend(name, { noflush: true });
    await this.dm.load(name, table);
    await this.dm.resume(name);
  }

  /** aux disable_dev: the PV becomes an error target. */
  disable(pv: string): Promise<void> {
    return this.swap(pv, `0 ${DISK} error`);
  }

  /** aux enable_dev: the PV's linear table is back. */
  enable(pv: string): Promise<void> {
    return this.swap(pv, `0 ${DISK} linear /dev/disk${pv.slice(2)} 0`);
  }

  async status(name = 'lv'): Promise<string> {
    return (await this.dm.status(name))[0]!.params;
  }

  async sync(name = 'lv'): Promise<[number, number]> {
    const words = (await this.status(name)).split(' ');
    const [a, b] = words[1 + Number(words[0])]!.split('/').map(Number);
    return [a!, b!];
  }

  /** aux wait_for_sync: polls until in-sync == total > 0; time passes between polls. Returns the ratios seen. */
  async waitForSync(name = 'lv', maxPolls = 100000): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < maxPolls; i++) {
      const [a, b] = await this.sync(name);
      if (seen.at(-1) !== `${a}/${b}`) seen.push(`${a}/${b}`);
      if (a === b && b > 0) return seen;
      await new Promise((r) => setImmediate(r));
      this.clock.advance(10);
    }
    throw new Error(`${name} never synced: ${await this.status(name)}`);
  }

  async write(sector: number, data: Buffer, name = 'lv'): Promise<void> {
    const dev = await this.dm.open(name);
    try {
      await dev.write(sector, data);
    } finally {
      await dev.close();
    }
  }

  async read(sector: number, count: number, name = 'lv'): Promise<Buffer> {
    const dev = await this.dm.open(name);
    try {
      const buf = Buffer.alloc(count * 512);
      await dev.read(sector, buf);
      return buf;
    } finally {
      await dev.close();
    }
  }

  async image(i: number, sector: number, count: number): Promise<Buffer> {
    const buf = Buffer.alloc(count * 512);
    await this.disks[i]!.read(sector, buf);
    return buf;
  }

  async eventNr(name = 'lv'): Promise<number> {
    return (await this.dm.info(name))[0]!.eventNr;
  }
}

const fill = (byte: number, sectors = 8): Buffer => Buffer.alloc(sectors * 512, byte);

let lab: Lab;
afterEach(async () => {
  raid1ResyncThrottle.throttle = 100;
  await lab?.dm.close();
});

describe('LVM2 mirror scenarios on one mirror device', () => {
  it('lvcreate -m1 --mirrorlog core: a full resync copies image 0 onto image 1', async () => {
    lab = new Lab();
    await lab.setup(2, false);
    await lab.disks[0]!.write(REGION * 3, fill(0x5a));
    await lab.dm.create('lv', `0 ${LV} mirror core 1 ${REGION} ${lab.legs(2)}`);
    await lab.waitForSync();
    expect(await lab.status()).toBe(`2 /dev/mapper/lv_mimage_0 /dev/mapper/lv_mimage_1 16/16 1 AA 1 core`);
    expect(lab.recovered).toEqual([...Array(16).keys()]); // one region at a time, ascending
    expect(await lab.image(1, REGION * 3, 8)).toEqual(fill(0x5a));
    await lab.write(100, fill(0x11));
    expect(await lab.image(0, 100, 8)).toEqual(fill(0x11));
    expect(await lab.image(1, 100, 8)).toEqual(fill(0x11));
    expect(await lab.read(100, 8)).toEqual(fill(0x11));
  });

  it('lvcreate --nosync: 100% at once with a disk log, and 3 legs with a disk log', async () => {
    lab = new Lab();
    await lab.setup(3);
    await lab.dm.create('lv', `0 ${LV} mirror disk 3 /dev/mapper/lv_mlog ${REGION} nosync ${lab.legs(3)}`);
    expect(await lab.sync()).toEqual([16, 16]);
    expect(lab.recovered).toEqual([]);
    expect(await lab.status()).toMatch(/ 16\/16 1 AAA 3 disk \/dev\/mapper\/lv_mlog A$/);
    // The log on the named PV is the kernel's: magic, version 2, 16 regions, all clean.
    const log = await lab.image(3, 0, 3);
    expect(log.readUInt32LE(0)).toBe(0x4d695272);
    expect(log.readUInt32LE(4)).toBe(2);
    expect(log.readBigUInt64LE(8)).toBe(16n);
    expect(log.subarray(1024, 1032)).toEqual(Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]));
  });

  it('lvchange --resync: a zeroed disk log means a full resync; a valid clean one means none', async () => {
    lab = new Lab();
    await lab.setup(2);
    const table = `0 ${LV} mirror disk 2 /dev/mapper/lv_mlog ${REGION} ${lab.legs(2)}`;
    await lab.dm.create('lv', table);
    await lab.waitForSync();
    await lab.dm.remove('lv');
    lab.recovered.length = 0;
    await lab.dm.create('lv', table); // clean log: nothing to do
    expect(await lab.sync()).toEqual([16, 16]);
    await lab.dm.remove('lv');
    await lab.disks[1]!.write(REGION * 9, fill(0x77)); // image 1 drifts behind the mirror's back
    await lab.disks[2]!.write(0, Buffer.alloc(8 * 512)); // lvchange --resync zeroes the log
    await lab.dm.create('lv', table);
    expect((await lab.sync())[0]).toBe(0);
    await lab.waitForSync();
    expect(lab.recovered).toEqual([...Array(16).keys()]);
    expect(await lab.image(1, REGION * 9, 8)).toEqual(await lab.image(0, REGION * 9, 8));
  });

  it('wait_for_sync polling with raid1_resync_throttle at 1%: progress is visible, then 100%', async () => {
    lab = new Lab();
    await lab.setup(2, false);
    raid1ResyncThrottle.throttle = 1;
    await lab.dm.create('lv', `0 ${LV} mirror core 1 ${REGION} ${lab.legs(2)}`);
    const seen = await lab.waitForSync();
    expect(seen[0]).toBe('0/16');
    expect(seen.length).toBeGreaterThan(3); // intermediate ratios were observed
    expect(seen.at(-1)).toBe('16/16');
    const counts = seen.map((s) => Number(s.split('/')[0]));
    expect([...counts].sort((a, b) => a - b)).toEqual(counts); // only ever grows
  });

  it('a leg PV disabled (error table), no handle_errors: the write succeeds, the region drops out of sync', async () => {
    lab = new Lab();
    await lab.setup(2, false);
    await lab.dm.create('lv', `0 ${LV} mirror core 1 ${REGION} ${lab.legs(2)}`);
    await lab.waitForSync();
    const ev = await lab.eventNr();
    await lab.disable('pv1');
    await lab.write(REGION * 2, fill(0x42));
    await settle();
    expect(await lab.status()).toMatch(/ 15\/16 1 AD 1 core$/);
    expect(await lab.eventNr()).toBe(ev); // without handle_errors: no event
    expect(await lab.read(REGION * 2, 8)).toEqual(fill(0x42));
    // The region stays out of sync until a resume resets the resync cursor.
    await lab.enable('pv1');
    await settle();
    expect((await lab.sync())[0]).toBe(15);
    await lab.dm.suspend('lv');
    await lab.dm.resume('lv');
    await lab.waitForSync();
    expect(await lab.image(1, REGION * 2, 8)).toEqual(fill(0x42));
  });

  it('a leg failing under a flakey table (error_writes) with handle_errors: held, event, then lvconvert --repair', async () => {
    lab = new Lab();
    await lab.setup(2);
    await lab.dm.create('lv', `0 ${LV} mirror disk 2 /dev/mapper/lv_mlog ${REGION} ${lab.legs(2)} 1 handle_errors`);
    await lab.waitForSync();
    const ev = await lab.eventNr();
    await lab.swap('pv1', `0 ${DISK} flakey /dev/disk1 0 0 1 1 error_writes`);
    let done: 'pending' | 'ok' | 'failed' = 'pending';
    const w = lab.write(REGION * 5, fill(0x33)).then(
      () => (done = 'ok'),
      () => (done = 'failed'),
    );
    await settle();
    expect(done).toBe('pending'); // held until userspace repairs
    expect(await lab.status()).toMatch(/ 15\/16 1 AD 3 disk /);
    expect(await lab.dm.wait('lv', ev)).toBeGreaterThan(ev); // dmeventd is woken
    // lvconvert --repair: noflush suspend, the mirror becomes a linear LV on the surviving image.
    await lab.swap('lv', `0 ${LV} linear /dev/mapper/lv_mimage_0 0`, true);
    await w;
    expect(done).toBe('ok'); // dd sees no error
    expect(await lab.read(REGION * 5, 8)).toEqual(fill(0x33));
  });

  it('read failover: image 0 PV disabled, reads come from image 1 and the leg shows R', async () => {
    lab = new Lab();
    await lab.setup(2, false);
    await lab.disks[0]!.write(REGION * 4, fill(0x61));
    await lab.dm.create('lv', `0 ${LV} mirror core 1 ${REGION} ${lab.legs(2)}`);
    await lab.waitForSync();
    await lab.disable('pv0');
    expect(await lab.read(REGION * 4, 8)).toEqual(fill(0x61));
    expect(await lab.status()).toMatch(/ 16\/16 1 RA 1 core$/);
  });

  it('primary switch: handle_errors keep_log moves the default to image 1; the repair resync copies from it', async () => {
    lab = new Lab();
    await lab.setup(2, false);
    await lab.dm.create('lv', `0 ${LV} mirror core 1 ${REGION} ${lab.legs(2)} 2 handle_errors keep_log`);
    await lab.waitForSync();
    await lab.swap('pv0', `0 ${DISK} flakey /dev/disk0 0 0 1 1 error_writes`);
    await lab.write(REGION * 6, fill(0x66)); // keep_log: not held
    await settle();
    expect(await lab.status()).toMatch(/ 15\/16 1 DA 1 core$/);
    await lab.enable('pv0');
    await lab.dm.suspend('lv');
    await lab.dm.resume('lv');
    await lab.waitForSync();
    expect(await lab.status()).toMatch(/ 16\/16 1 AA 1 core$/);
    expect(await lab.image(0, REGION * 6, 8)).toEqual(fill(0x66)); // copied from the new default
  });

  it('a dead log PV with handle_errors: writes are held, the log shows D; repair to a core log completes them', async () => {
    lab = new Lab();
    await lab.setup(2);
    await lab.dm.create('lv', `0 ${LV} mirror disk 2 /dev/mapper/lv_mlog ${REGION} ${lab.legs(2)} 1 handle_errors`);
    await lab.waitForSync();
    await lab.disable('pv2');
    let done = false;
    const w = lab.write(REGION * 7, fill(0x44)).then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    expect(await lab.status()).toMatch(/ 16\/16 1 AA 3 disk \/dev\/mapper\/lv_mlog D$/);
    expect(await lab.image(0, REGION * 7, 8)).not.toEqual(fill(0x44)); // not even tried yet
    await lab.swap('lv', `0 ${LV} mirror core 1 ${REGION} ${lab.legs(2)} 1 handle_errors`, true);
    await w;
    expect(await lab.image(0, REGION * 7, 8)).toEqual(fill(0x44));
    expect(await lab.image(1, REGION * 7, 8)).toEqual(fill(0x44));
  });

  it('pvmove-style temporary mirror (core log, no handle_errors) converted back to linear on the new PV', async () => {
    lab = new Lab();
    await lab.setup(2, false);
    await lab.disks[0]!.write(0, fill(0x99, 64));
    await lab.dm.create('lv', `0 ${LV} linear /dev/mapper/lv_mimage_0 0`);
    await lab.swap('lv', `0 ${LV} mirror core 1 ${REGION} ${lab.legs(2)}`);
    await lab.waitForSync();
    await lab.swap('lv', `0 ${LV} linear /dev/mapper/lv_mimage_1 0`);
    expect(await lab.read(0, 64)).toEqual(fill(0x99, 64));
  });
});
