// Helpers for the integration tests: a DeviceMapper over named MemoryDevices, and dmsetup-like one-liners.

import type { Clock } from '../../../src/base/clock.js';
import { type DmEvent, EventBus } from '../../../src/base/events.js';
import { MemoryDevice } from '../../../src/block/memory-device.js';
import { KcopydEngine } from '../../../src/kcopyd/engine.js';
import type { WorkerScheduler } from '../../../src/kcopyd/scheduler.js';
import { DeviceMapper } from '../../../targets/device-mapper.js';

export class Lab {
  readonly bus = new EventBus();
  readonly events: DmEvent[] = [];
  readonly dm: DeviceMapper;
  readonly disks = new Map<string, MemoryDevice>();

  /** scheduler: the kcopyd worker scheduler, to pause or step copies; clock: time for timers (a ManualClock). */
  constructor(options: { scheduler?: WorkerScheduler; clock?: Clock } = {}) {
    this.bus.on((e) => this.events.push(e));
    const kcopyd = options.scheduler ? new KcopydEngine({ bus: this.bus, scheduler: options.scheduler }) : undefined;
    this.dm = new DeviceMapper({
      bus: this.bus,
      ...(kcopyd ? { kcopyd } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  async disk(name: string, sectors: number, content?: Buffer): Promise<MemoryDevice> {
    const d = new MemoryDevice(name, sectors);
    if (content) await d.write(0, content);
    this.dm.addBackingDevice(name, d);
    this.disks.set(name, d);
    return d;
  }

  async read(name: string, sector: number, count: number): Promise<Buffer> {
    const dev = await this.dm.open(name);
    try {
      const buf = Buffer.alloc(count * 512);
      await dev.read(sector, buf);
      return buf;
    } finally {
      await dev.close();
    }
  }

  async write(name: string, sector: number, data: Buffer): Promise<void> {
    const dev = await this.dm.open(name);
    try {
      await dev.write(sector, data);
    } finally {
      await dev.close();
    }
  }

  async size(name: string): Promise<number> {
    return (await this.dm.status(name)).reduce((n, l) => n + l.length, 0);
  }

  async readAll(name: string): Promise<Buffer> {
    return this.read(name, 0, await this.size(name));
  }

  /** The status params of the device's (first) target, as `dmsetup status` prints them after the type. */
  async status(name: string): Promise<string> {
    return (await this.dm.status(name))[0]!.params;
  }

  async table(name: string): Promise<string> {
    return (await this.dm.table(name))[0]!.params;
  }

  /** dmsetup suspend + load + resume. */
  async reload(name: string, table: string): Promise<void> {
    await this.dm.suspend(name);
    await this.dm.load(name, table);
    await this.dm.resume(name);
  }

  /**
   * The LVM stack for a snapshot of `origin` (dmtest's snapshot_stack): the origin device is switched to
   * snapshot-origin while suspended, with the snapshot created in between.
   */
  async snapshot(origin: string, real: string, snap: string, cow: string, store: string, chunk: number): Promise<void> {
    const len = await this.size(origin);
    await this.dm.suspend(origin);
    await this.dm.create(snap, `0 ${len} snapshot ${real} ${cow} ${store} ${chunk}`);
    await this.dm.load(origin, `0 ${len} snapshot-origin ${real}`);
    await this.dm.resume(origin);
  }

  /** Creates a snapshot of an existing snapshot-origin device, with the origin suspended around it as LVM does. */
  async takeSnapshot(origin: string, snap: string, table: string): Promise<void> {
    await this.dm.suspend(origin);
    await this.dm.create(snap, table);
    await this.dm.resume(origin);
  }

  /** Polls (yielding to I/O) until the merge target's status says sectors_allocated == metadata_sectors. */
  async mergeDone(name: string): Promise<string> {
    for (let i = 0; i < 100_000; i++) {
      const s = await this.status(name);
      const m = /^(\d+)\/\d+ (\d+)$/.exec(s);
      if (!m || m[1] === m[2]) return s;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`merge of ${name} did not finish: ${await this.status(name)}`);
  }
}

/** LVM's Snap% from a status line (libdm dm_get_status_snapshot + lvm's percent rules), to two decimals. */
export function snapPercent(status: string): string {
  const m = /^(\d+)\/(\d+) (\d+)$/.exec(status);
  if (!m) return status;
  const [used, total, meta] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (used === meta) return '0.00';
  if (used === total) return '100.00';
  return ((100 * used) / total).toFixed(2);
}

/** A sector-stamped buffer: every 16 bytes say which sector and which fill they belong to. */
export function stamp(tag: string, sector: number, count: number): Buffer {
  const b = Buffer.alloc(count * 512);
  for (let s = 0; s < count; s++)
    for (let o = 0; o < 512; o += 16)
      b.write(`${tag}:${String(sector + s).padStart(8, '0')}`.padEnd(16, '.').slice(0, 16), s * 512 + o, 'latin1');
  return b;
}
