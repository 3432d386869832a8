// SpaceMap: reference counts of the blocks of one device (dm-space-map.h). The metadata device has one
// (sm-metadata.ts: it lives in the blocks it counts), the data device another (sm-disk.ts). A block is free
// when its count is 0; the transaction manager and the btrees keep counts in step with who points at a block.

export interface SpaceMap {
  /** Blocks the map covers. */
  nrBlocks(): number;
  /** Free blocks as the kernel reports them (committed state minus what this transaction allocated). */
  nrFree(): number;
  getCount(b: number): Promise<number>;
  /** More than one reference: a shadow of this block must copy it and increment what it points at. */
  countIsMoreThanOne(b: number): Promise<boolean>;
  inc(b: number): Promise<void>;
  dec(b: number): Promise<void>;
  /** Allocates a block free in both the current and the last committed map, and counts it once. */
  newBlock(): Promise<number>;
  /** Makes this transaction's counts the committed ones (writes the index; the caller flushes). */
  commit(): Promise<void>;
  /** Grows the map by `extra` blocks. */
  extend(extra: number): Promise<void>;
  /** struct disk_sm_root, 32 bytes: nr_blocks, nr_allocated, bitmap_root, ref_count_root. */
  root(): Buffer;
}
