// MemoryDevice: a sparse in-memory disk. Only pages that were written are held, so a 1 TiB test device costs nothing.

import { PAGE_SIZE, SECTOR_SIZE } from '../base/size.js';
import { type BlockDevice, checkRequest, DISK_DISCARDS, type DiscardLimits } from './block-device.js';

export class MemoryDevice implements BlockDevice {
  readonly name: string;
  readonly sizeSectors: number;
  readonly readOnly: boolean;
  /** false models a disk without a volatile write cache (as qemu's cache=writethrough virtio disks report). */
  readonly writeCache: boolean;
  /** A disk's by default; NO_DISCARDS models a disk without discard support. */
  readonly discardLimits: DiscardLimits;
  private readonly pages = new Map<number, Buffer>();
  private closed = false;

  constructor(
    name: string,
    sizeSectors: number,
    options: { readOnly?: boolean; writeCache?: boolean; discardLimits?: DiscardLimits } = {},
  ) {
    this.name = name;
    this.sizeSectors = sizeSectors;
    this.readOnly = options.readOnly ?? false;
    this.writeCache = options.writeCache ?? true;
    this.discardLimits = options.discardLimits ?? DISK_DISCARDS;
  }

  /** Pages currently held in memory (for tests of sparseness). */
  get residentPages(): number {
    return this.pages.size;
  }

  async read(sector: number, buf: Buffer): Promise<void> {
    this.checkOpen();
    checkRequest(this, 'read', sector, buf.length);
    this.walk(sector * SECTOR_SIZE, buf.length, (page, pageOff, bufOff, len) => {
      const held = this.pages.get(page);
      if (held) held.copy(buf, bufOff, pageOff, pageOff + len);
      else buf.fill(0, bufOff, bufOff + len);
    });
  }

  async write(sector: number, buf: Buffer): Promise<void> {
    this.checkOpen();
    checkRequest(this, 'write', sector, buf.length);
    this.walk(sector * SECTOR_SIZE, buf.length, (page, pageOff, bufOff, len) => {
      let held = this.pages.get(page);
      if (!held) {
        held = Buffer.alloc(PAGE_SIZE);
        this.pages.set(page, held);
      }
      buf.copy(held, pageOff, bufOff, bufOff + len);
    });
  }

  async flush(): Promise<void> {
    this.checkOpen();
  }

  async discard(sector: number, count: number): Promise<void> {
    this.checkOpen();
    checkRequest(this, 'discard', sector, count * SECTOR_SIZE);
    this.walk(sector * SECTOR_SIZE, count * SECTOR_SIZE, (page, pageOff, _bufOff, len) => {
      if (len === PAGE_SIZE) this.pages.delete(page);
      else this.pages.get(page)?.fill(0, pageOff, pageOff + len);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pages.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`${this.name}: device is closed`);
  }

  /** Calls fn for each page-sized piece of the byte range [offset, offset + length). */
  private walk(
    offset: number,
    length: number,
    fn: (page: number, pageOff: number, bufOff: number, len: number) => void,
  ): void {
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const page = Math.floor(pos / PAGE_SIZE);
      const pageOff = pos % PAGE_SIZE;
      const len = Math.min(PAGE_SIZE - pageOff, length - done);
      fn(page, pageOff, done, len);
      done += len;
    }
  }
}
