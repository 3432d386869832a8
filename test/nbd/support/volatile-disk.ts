// A disk with a volatile write cache: writes are acknowledged into a cache and reach the platter (a
// MemoryDevice) only at flush. `crash()` loses the cache, as a power cut would. Lets a test see exactly which
// acknowledged NBD writes were durable.

import { SECTOR_SIZE } from '../../../src/base/size.js';
import type { BlockDevice } from '../../../src/block/block-device.js';
import { MemoryDevice } from '../../../src/block/memory-device.js';

export class VolatileDisk implements BlockDevice {
  readonly platter: MemoryDevice;
  readonly readOnly = false;
  private cache = new Map<number, Buffer>();

  constructor(
    readonly name: string,
    readonly sizeSectors: number,
  ) {
    this.platter = new MemoryDevice(name, sizeSectors);
  }

  async read(sector: number, buf: Buffer): Promise<void> {
    await this.platter.read(sector, buf);
    for (let i = 0; i < buf.length / SECTOR_SIZE; i++) this.cache.get(sector + i)?.copy(buf, i * SECTOR_SIZE);
  }

  async write(sector: number, buf: Buffer): Promise<void> {
    for (let i = 0; i < buf.length / SECTOR_SIZE; i++)
      this.cache.set(sector + i, Buffer.from(buf.subarray(i * SECTOR_SIZE, (i + 1) * SECTOR_SIZE)));
  }

  async flush(): Promise<void> {
    const pending = this.cache;
    this.cache = new Map();
    for (const [s, b] of pending) await this.platter.write(s, b);
  }

  async discard(): Promise<void> {}

  async close(): Promise<void> {}

  crash(): void {
    this.cache.clear();
  }
}
