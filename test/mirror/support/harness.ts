// Test harness for the mirror target without the dm core: a TargetContext over named in-memory devices,
// a kcopyd engine, an event counter, and the helpers the oracle jobs use (pat, wait_sync, md5 of legs).

import { createHash } from 'node:crypto';
import type { Clock } from '../../../src/base/clock.js';
import { NoDeviceError } from '../../../src/base/errors.js';
import { type DmEvent, EventBus } from '../../../src/base/events.js';
import type { BlockDevice } from '../../../src/block/block-device.js';
import { MemoryDevice } from '../../../src/block/memory-device.js';
import type { DmDevice, TargetContext } from '../../../src/dm/target.js';
import { KcopydEngine } from '../../../src/kcopyd/engine.js';
import type { WorkerScheduler } from '../../../src/kcopyd/scheduler.js';
import { type MirrorSet, mirrorTargetType } from '../../../targets/mirror/mirror.js';
import { FaultyDevice } from './faulty-device.js';

/** The oracle jobs' geometry: a 4000-sector mirror of 128-sector regions (32 regions) over 4096-sector legs. */
export const R = 128;
export const LEN = 4000;

const clock: Clock = {
  now: () => 0,
  setTimer: () => () => {},
};

export class Rig {
  readonly bus = new EventBus();
  readonly engine: KcopydEngine;
  /** Every request to every device of the rig, in order. */
  readonly journal: [string, string, number, number][] = [];
  readonly devices = new Map<string, FaultyDevice>();
  readonly events: DmEvent[] = [];
  /** dm events raised per mapped device (dmsetup info's "Event number"). */
  readonly eventNr = new Map<string, number>();

  constructor(options: { scheduler?: WorkerScheduler } = {}) {
    this.engine = new KcopydEngine({ bus: this.bus, ...(options.scheduler ? { scheduler: options.scheduler } : {}) });
    this.bus.on((e) => this.events.push(e));
  }

  /** Adds (or replaces the fault wrapper of) a device; the memory underneath survives a replace. */
  add(name: string, sizeSectors: number, inner?: BlockDevice): FaultyDevice {
    const dev = new FaultyDevice(inner ?? new MemoryDevice(name, sizeSectors), name, this.journal);
    this.devices.set(name, dev);
    return dev;
  }

  dev(name: string): FaultyDevice {
    const d = this.devices.get(name);
    if (!d) throw new Error(`no device ${name}`);
    return d;
  }

  context(deviceName: string, len: number, readOnly = false): TargetContext {
    this.eventNr.set(deviceName, 0);
    return {
      deviceName,
      begin: 0,
      len,
      readOnly,
      getDevice: async (name: string): Promise<DmDevice> => {
        const bdev = this.devices.get(name);
        if (!bdev) throw new NoDeviceError(`${name}: no such device`);
        return { name, bdev };
      },
      bus: this.bus,
      kcopyd: this.engine,
      clock,
      raiseEvent: () => this.eventNr.set(deviceName, (this.eventNr.get(deviceName) ?? 0) + 1),
    };
  }

  /** ctr + resume, as `dmsetup create` does. The table is the part after `<start> <len> mirror `. */
  async create(deviceName: string, params: string, len = LEN): Promise<MirrorSet> {
    const t = (await mirrorTargetType.create(
      this.context(deviceName, len),
      params.split(/\s+/).filter(Boolean),
    )) as MirrorSet;
    await t.resume();
    return t;
  }
}

/** Lets the worker, kcopyd and the devices run until nothing moves for a few turns. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Runs until the mirror, kcopyd and the devices are quiet: no worker pass, no recovery in flight, no kcopyd
 * pass or region I/O pending, for a few turns in a row (the time the oracle jobs sleep or run commands).
 */
export async function quiesce(rig: Rig, m: MirrorSet, maxTurns = 100000): Promise<void> {
  let quiet = 0;
  for (let i = 0; i < maxTurns && quiet < 3; i++) {
    await new Promise((r) => setImmediate(r));
    const still = m.idle && rig.engine.ioPending === 0 && rig.engine.scheduler.pending.length === 0;
    quiet = still ? quiet + 1 : 0;
  }
  if (quiet < 3) throw new Error(`mirror never went quiet: ${m.status('info')}`);
}

export function syncRatio(m: MirrorSet): [number, number] {
  const words = m.status('info').split(' ');
  const [a, b] = words[1 + m.legs.length]!.split('/').map(Number) as [number, number];
  return [a, b];
}

/** LVM's wait_for_sync: polls the status until in-sync == total > 0. */
export async function waitForSync(m: MirrorSet, maxPolls = 20000): Promise<number> {
  for (let polls = 0; polls < maxPolls; polls++) {
    const [a, b] = syncRatio(m);
    if (a === b && b > 0) {
      await settle(); // the job's next command comes a few milliseconds later: log I/O in flight lands
      return polls;
    }
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`no sync: ${m.status('info')}`);
}

/** The jobs' pat(): 4 KiB of 16-byte lines "TAG-rREGION" padded with spaces. */
export function pattern(tag: string, region: number): Buffer {
  const line = `${`${tag}-r${region}`.padEnd(15, ' ')}\n`;
  return Buffer.from(line.repeat(256), 'latin1');
}

export async function patDevice(dev: BlockDevice, tag: string, region: number, off = 0): Promise<void> {
  await dev.write(region * R + off, pattern(tag, region));
}

/** pat() through the mirror: one 8-sector write bio. */
export function patMirror(m: MirrorSet, tag: string, region: number, off = 0): Promise<void> {
  return m.map({ op: 'write', sector: region * R + off, count: 8, buf: pattern(tag, region) });
}

export async function readMirror(m: MirrorSet, sector: number, count = 1): Promise<Buffer> {
  const buf = Buffer.alloc(count * 512);
  await m.map({ op: 'read', sector, count, buf });
  return buf;
}

export async function md5Of(dev: BlockDevice, sectors = LEN, start = 0): Promise<string> {
  const buf = Buffer.alloc(sectors * 512);
  await dev.read(start, buf);
  return createHash('md5').update(buf).digest('hex');
}

/** The jobs' loghex(): header bytes, first 16 bitset bytes, md5 of the 3-sector log buffer. */
export async function logSummary(dev: BlockDevice): Promise<string> {
  const buf = Buffer.alloc(1536);
  await dev.read(0, buf);
  return `${buf.subarray(0, 16).toString('hex')} ${buf.subarray(1024, 1040).toString('hex')} ${createHash('md5').update(buf).digest('hex')}`;
}
