// FaultyDevice: a BlockDevice over another one whose reads, writes and flushes can be made to fail, or
// whose writes can be stalled forever (a power cut with I/O in flight). Tests use it to fail mirror legs
// and logs the way the oracle jobs do with flakey and error tables.

import { IoError } from '../../../src/base/errors.js';
import type { BlockDevice } from '../../../src/block/block-device.js';

export class FaultyDevice implements BlockDevice {
  readonly inner: BlockDevice;
  failReads = false;
  failWrites = false;
  failFlushes = false;
  /** Writes never complete and never reach the device. */
  stallWrites = false;
  /** Every request that reached this device, in order: [op, sector, sectors]. */
  readonly trace: [string, number, number][] = [];
  /** Optional name override (the table word the device was opened by). */
  readonly name: string;

  /** Shared by several devices: one global order of [device, op, sector, sectors]. */
  readonly journal: [string, string, number, number][] | undefined;

  constructor(inner: BlockDevice, name = inner.name, journal?: [string, string, number, number][]) {
    this.inner = inner;
    this.name = name;
    this.journal = journal;
  }

  private note(op: string, sector: number, sectors: number): void {
    this.trace.push([op, sector, sectors]);
    this.journal?.push([this.name, op, sector, sectors]);
  }

  get sizeSectors(): number {
    return this.inner.sizeSectors;
  }
  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  async read(sector: number, buf: Buffer): Promise<void> {
    this.note('read', sector, buf.length / 512);
    if (this.failReads) throw new IoError(`${this.name}: injected read error at sector ${sector}`);
    return this.inner.read(sector, buf);
  }

  async write(sector: number, buf: Buffer): Promise<void> {
    this.note('write', sector, buf.length / 512);
    if (this.stallWrites) return new Promise<void>(() => {});
    if (this.failWrites) throw new IoError(`${this.name}: injected write error at sector ${sector}`);
    return this.inner.write(sector, buf);
  }

  async flush(): Promise<void> {
    this.note('flush', 0, 0);
    if (this.stallWrites) return new Promise<void>(() => {});
    if (this.failFlushes || this.failWrites) throw new IoError(`${this.name}: injected flush error`);
    return this.inner.flush();
  }

  async discard(sector: number, count: number): Promise<void> {
    this.note('discard', sector, count);
    if (this.failWrites) throw new IoError(`${this.name}: injected discard error at sector ${sector}`);
    return this.inner.discard(sector, count);
  }

  async close(): Promise<void> {}
}
