// TransientStore: the `N` exception store (mirrors drivers/md/dm-snap-transient.c). Nothing is written to the
// COW but the copied data: chunks are handed out from COW chunk 0 and the table lives only in memory.

import type { BlockDevice } from '../../src/block/block-device.js';
import type { ExceptionStore, StoreUsage } from './exception-store.js';

export class TransientStore implements ExceptionStore {
  readonly kind = 'N';
  readonly cow: BlockDevice;
  readonly chunkSize: number;
  overflowSupported = false;
  /** In sectors, as the kernel keeps it. */
  private nextFree = 0;

  constructor(cow: BlockDevice, chunkSize: number) {
    this.cow = cow;
    this.chunkSize = chunkSize;
  }

  async readMetadata(): Promise<'ok'> {
    return 'ok';
  }

  prepareException(): number | null {
    if (this.cow.sizeSectors < this.nextFree + this.chunkSize) return null;
    const newChunk = this.nextFree / this.chunkSize;
    this.nextFree += this.chunkSize;
    return newChunk;
  }

  async commitException(_oldChunk: number, _newChunk: number, valid: boolean): Promise<boolean> {
    return valid;
  }

  usage(): StoreUsage {
    return { totalSectors: this.cow.sizeSectors, sectorsAllocated: this.nextFree, metadataSectors: 0 };
  }

  async drop(): Promise<void> {}

  tableType(): 'N' {
    return 'N';
  }
}
