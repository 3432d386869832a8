// The data device's space map (dm-space-map-disk.c): counts kept in bitmaps indexed by a btree, all stored on
// the metadata device. Allocation is next-fit from a cursor that starts at 0 whenever the map is opened, and
// takes only blocks free in both the current and the last committed map: a block freed in this transaction
// is not reused before the commit (its old contents may still be what the committed mappings point at).

import { NoSpaceError } from '../base/errors.js';
import { DiskIndex, LowLevel } from './sm-ll.js';
import { decodeSmRoot, encodeSmRoot } from './sm-root.js';
import type { SpaceMap } from './space-map.js';
import type { TransactionManager } from './transaction-manager.js';

export class DiskSpaceMap implements SpaceMap {
  private ll: LowLevel;
  private old: LowLevel;
  private begin = 0;
  private allocatedThisTransaction = 0;

  private constructor(ll: LowLevel) {
    this.ll = ll;
    this.old = ll.snapshot();
  }

  /** dm_sm_disk_create. */
  static async create(tm: TransactionManager, nrBlocks: number): Promise<DiskSpaceMap> {
    const ll = await LowLevel.create(tm, await DiskIndex.create(tm));
    await ll.extend(nrBlocks);
    const sm = new DiskSpaceMap(ll);
    await sm.commit();
    return sm;
  }

  /** dm_sm_disk_open from the 32-byte root in the superblock. */
  static open(tm: TransactionManager, root: Buffer): DiskSpaceMap {
    const r = decodeSmRoot(root);
    return new DiskSpaceMap(
      new LowLevel(tm, DiskIndex.open(tm, r.bitmapRoot), r.nrBlocks, r.nrAllocated, r.refCountRoot),
    );
  }

  nrBlocks(): number {
    return this.ll.nrBlocks;
  }

  nrFree(): number {
    return this.old.nrBlocks - this.old.nrAllocated - this.allocatedThisTransaction;
  }

  getCount(b: number): Promise<number> {
    return this.ll.lookup(b);
  }

  async countIsMoreThanOne(b: number): Promise<boolean> {
    return (await this.ll.lookup(b)) > 1;
  }

  async inc(b: number): Promise<void> {
    this.account(await this.ll.inc(b));
  }

  async dec(b: number): Promise<void> {
    this.account(await this.ll.dec(b));
  }

  async newBlock(): Promise<number> {
    const b = await this.tryNewBlock();
    if (b === undefined) throw new NoSpaceError('no free data block');
    return b;
  }

  /**
   * newBlock, but undefined (with nothing changed) when no block is free in both maps, so a caller can tell
   * running out of data blocks from a metadata failure on the way.
   */
  async tryNewBlock(): Promise<number | undefined> {
    let b = await this.ll.findCommonFreeBlock(this.old, this.begin, this.ll.nrBlocks);
    // Nothing from the cursor to the end: something before it may have been freed.
    b ??= await this.ll.findCommonFreeBlock(this.old, 0, this.begin);
    if (b === undefined) return undefined;
    this.begin = b + 1;
    this.account(await this.ll.inc(b));
    return b;
  }

  async commit(): Promise<void> {
    await this.ll.commit();
    this.old = this.ll.snapshot();
    this.allocatedThisTransaction = 0;
  }

  extend(extra: number): Promise<void> {
    return this.ll.extend(extra);
  }

  root(): Buffer {
    return encodeSmRoot({
      nrBlocks: this.ll.nrBlocks,
      nrAllocated: this.ll.nrAllocated,
      bitmapRoot: this.ll.index.root,
      refCountRoot: this.ll.refCountRoot,
    });
  }

  private account(ev: 'alloc' | 'free' | 'none'): void {
    if (ev === 'alloc') this.allocatedThisTransaction++;
    else if (ev === 'free') this.allocatedThisTransaction--;
  }
}
