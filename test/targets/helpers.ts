// Shared set-up for target tests: a DeviceMapper on a ManualClock with named MemoryDevices, and a device
// that counts flushes.

import { ManualClock } from '../../src/base/clock.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';

export class CountingDevice extends MemoryDevice {
  flushes = 0;
  override async flush(): Promise<void> {
    this.flushes++;
    await super.flush();
  }
}

export function setup(sizes: Record<string, number> = { '/dev/a': 4096 }) {
  const clock = new ManualClock(1_000_000);
  const dm = new DeviceMapper({ clock, bus: new EventBus() });
  const devs: Record<string, CountingDevice> = {};
  for (const [name, size] of Object.entries(sizes)) {
    devs[name] = new CountingDevice(name, size);
    dm.addBackingDevice(name, devs[name]);
  }
  return { clock, dm, devs };
}

export function filled(sectors: number, byte: number): Buffer {
  return Buffer.alloc(sectors * 512, byte);
}

/** Outcome of a promise without throwing: 'ok' or the error code. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}
