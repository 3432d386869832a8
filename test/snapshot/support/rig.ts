// Rig: runs snapshot targets without a device-mapper: a TargetContext over named MemoryDevices, a real kcopyd
// engine and an event bus, and I/O helpers that issue bios the way the dm core does (split at maxIoSectors).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type DmEvent, EventBus } from '../../../src/base/events.js';
import type { BlockDevice } from '../../../src/block/block-device.js';
import { MemoryDevice } from '../../../src/block/memory-device.js';
import type { Bio } from '../../../src/dm/bio.js';
import type { Target, TargetContext, TargetType } from '../../../src/dm/target.js';
import { KcopydEngine } from '../../../src/kcopyd/engine.js';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/snapshot/kernel/', import.meta.url));

export function fixtureImage(name: string): Buffer {
  return gunzipSync(readFileSync(FIXTURES + name));
}

export function fixtureText(name: string): string {
  return readFileSync(FIXTURES + name, 'utf8');
}

export function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}

export interface Mapped {
  name: string;
  type: string;
  len: number;
  target: Target;
}

export class Rig {
  readonly bus = new EventBus();
  readonly events: DmEvent[] = [];
  readonly engine = new KcopydEngine({ bus: this.bus });
  readonly devices = new Map<string, BlockDevice>();
  raised = 0;

  constructor() {
    this.bus.on((e) => this.events.push(e));
  }

  async memory(name: string, sectors: number, content?: Buffer): Promise<MemoryDevice> {
    const dev = new MemoryDevice(name, sectors);
    if (content) await dev.write(0, content);
    this.devices.set(name, dev);
    return dev;
  }

  context(deviceName: string, len: number): TargetContext {
    return {
      deviceName,
      begin: 0,
      len,
      readOnly: false,
      getDevice: async (name) => {
        const bdev = this.devices.get(name);
        if (!bdev) throw new Error(`no device ${name}`);
        return { name, bdev };
      },
      bus: this.bus,
      kcopyd: this.engine,
      clock: { now: () => 0, setTimer: () => () => undefined },
      raiseEvent: () => {
        this.raised++;
      },
    };
  }

  async create(type: TargetType, name: string, len: number, args: string[]): Promise<Mapped> {
    const target = await type.create(this.context(name, len), args);
    return { name, type: type.name, len, target };
  }
}

/**
 * One request, split at the target's maxIoSectors boundaries like the dm core: the pieces are submitted one
 * after another without waiting (as __split_and_process_bio does) and the request completes when all have.
 */
async function submit(m: Mapped, op: Bio['op'], sector: number, count: number, buf?: Buffer): Promise<void> {
  const max = m.target.maxIoSectors;
  const pieces: Promise<void>[] = [];
  let done = 0;
  while (done < count) {
    const s = sector + done;
    const n = max ? Math.min(count - done, max - (s % max)) : count - done;
    const piece = buf?.subarray(done * 512, (done + n) * 512);
    pieces.push(m.target.map({ op, sector: s, count: n, ...(piece ? { buf: piece } : {}) }));
    done += n;
  }
  const results = await Promise.allSettled(pieces);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export async function read(m: Mapped, sector: number, count: number): Promise<Buffer> {
  const buf = Buffer.alloc(count * 512);
  await submit(m, 'read', sector, count, buf);
  return buf;
}

export async function write(m: Mapped, sector: number, data: Buffer): Promise<void> {
  await submit(m, 'write', sector, data.length / 512, data);
}

/** `dmsetup status` line of one target. */
export function statusLine(m: Mapped): string {
  return `${m.name}: 0 ${m.len} ${m.type} ${m.target.status('info')}`;
}
