// The metadata device's space map (dm-space-map-metadata.c). It lives in the blocks it counts, so changing a
// count (shadowing a bitmap block, the index, the ref-count tree) needs new blocks from itself. While such a
// change is under way (recursion > 0) further increments and decrements are queued as block ops and applied,
// in order, when the outermost change returns; counts read meanwhile add the queued ops. Creating or growing
// the map runs on a bootstrap allocator that hands out the new area's blocks in order.

import { NoSpaceError } from '../base/errors.js';
import { ENTRIES_PER_BITMAP } from './sm-bitmap.js';
import { LowLevel, MAX_METADATA_BITMAPS, MetadataIndex } from './sm-ll.js';
import { decodeSmRoot, encodeSmRoot } from './sm-root.js';
import type { SpaceMap } from './space-map.js';
import type { TransactionManager } from './transaction-manager.js';

/** DM_SM_METADATA_MAX_BLOCKS: what one index block can describe. */
export const METADATA_SM_MAX_BLOCKS = MAX_METADATA_BITMAPS * ENTRIES_PER_BITMAP;

/** MAX_RECURSIVE_ALLOCATIONS: queued block ops beyond this mean something is looping. */
const MAX_RECURSIVE_OPS = 1024;

interface BlockOp {
  type: 'inc' | 'dec';
  block: number;
}

export class MetadataSpaceMap implements SpaceMap {
  private ll!: LowLevel;
  private old!: LowLevel;
  private begin = 0;
  private recursion = 0;
  private allocatedThisTransaction = 0;
  private readonly uncommitted: BlockOp[] = [];
  private bootstrap = false;
  private threshold: { value: number; fn: () => void; last?: number } | undefined;

  /**
   * dm_sm_metadata_create: formats the map over nrBlocks blocks; blocks below `superblock + 1` and the ones the
   * map itself takes are counted once. The caller has set this map as the transaction manager's.
   */
  static async create(tm: TransactionManager, nrBlocks: number, superblock: number): Promise<MetadataSpaceMap> {
    const sm = new MetadataSpaceMap();
    tm.sm = sm;
    sm.begin = superblock + 1;
    sm.bootstrap = true;
    sm.ll = await LowLevel.create(tm, await MetadataIndex.create(tm));
    await sm.ll.extend(Math.min(nrBlocks, METADATA_SM_MAX_BLOCKS));
    sm.bootstrap = false;
    for (let b = superblock; b < sm.begin; b++) sm.addOp('inc', b);
    await sm.applyOps();
    sm.old = sm.ll.snapshot();
    await sm.commit();
    return sm;
  }

  /** dm_sm_metadata_open from the 32-byte root in the superblock; sets itself as tm's space map. */
  static async open(tm: TransactionManager, root: Buffer): Promise<MetadataSpaceMap> {
    const r = decodeSmRoot(root);
    const sm = new MetadataSpaceMap();
    tm.sm = sm;
    sm.ll = new LowLevel(tm, await MetadataIndex.open(tm, r.bitmapRoot), r.nrBlocks, r.nrAllocated, r.refCountRoot);
    sm.old = sm.ll.snapshot();
    return sm;
  }

  /** An edge-triggered callback when free blocks drop to `value` or below (the low water mark). */
  registerThreshold(value: number, fn: () => void): void {
    this.threshold = { value, fn };
  }

  nrBlocks(): number {
    return this.ll.nrBlocks;
  }

  nrFree(): number {
    if (this.bootstrap) return this.ll.nrBlocks - this.begin;
    return this.old.nrBlocks - this.old.nrAllocated - this.allocatedThisTransaction;
  }

  private adjustment(b: number): number {
    let adj = 0;
    for (const op of this.uncommitted) if (op.block === b) adj += op.type === 'inc' ? 1 : -1;
    return adj;
  }

  async getCount(b: number): Promise<number> {
    if (this.bootstrap) return b < this.begin ? 1 : 0;
    const adj = this.adjustment(b);
    return (await this.ll.lookup(b)) + adj;
  }

  async countIsMoreThanOne(b: number): Promise<boolean> {
    if (this.bootstrap) return false;
    const adj = this.adjustment(b);
    if (adj > 1) return true;
    const rc = await this.ll.lookupBitmap(b);
    // A count of 3 means "3 or more": err on the side of caution.
    return rc === 3 || rc + adj > 1;
  }

  async inc(b: number): Promise<void> {
    if (this.bootstrap || this.recursion > 0) this.addOp('inc', b);
    else await this.guarded(() => this.ll.inc(b));
  }

  async dec(b: number): Promise<void> {
    if (this.bootstrap || this.recursion > 0) this.addOp('dec', b);
    else await this.guarded(() => this.ll.dec(b));
  }

  async newBlock(): Promise<number> {
    if (this.bootstrap) {
      // While the map is being created its size is not known yet (the kernel's ll.nr_blocks is still 0).
      if (this.begin === (this.ll as LowLevel | undefined)?.nrBlocks)
        throw new NoSpaceError('metadata space map: no block left to bootstrap');
      return this.begin++;
    }
    let b = await this.ll.findCommonFreeBlock(this.old, this.begin, this.ll.nrBlocks);
    b ??= await this.ll.findCommonFreeBlock(this.old, 0, this.begin);
    if (b === undefined) throw new NoSpaceError('space map metadata: unable to allocate new metadata block');
    this.begin = b + 1;
    if (this.recursion > 0) this.addOp('inc', b);
    else await this.guarded(() => this.ll.inc(b));
    this.allocatedThisTransaction++;
    this.checkThreshold();
    return b;
  }

  async commit(): Promise<void> {
    if (this.bootstrap) return;
    await this.ll.commit();
    this.old = this.ll.snapshot();
    this.allocatedThisTransaction = 0;
  }

  /** sm_metadata_extend: the new blocks' bitmaps come from the new area; repeat until no more are taken. */
  async extend(extra: number): Promise<void> {
    let oldLen = this.ll.nrBlocks;
    this.begin = oldLen;
    this.bootstrap = true;
    try {
      await this.ll.extend(extra);
      do {
        for (let b = oldLen; b < this.begin; b++) this.addOp('inc', b);
        oldLen = this.begin;
        await this.applyOps();
        await this.ll.commit();
      } while (oldLen !== this.begin);
    } finally {
      this.bootstrap = false;
    }
  }

  root(): Buffer {
    return encodeSmRoot({
      nrBlocks: this.ll.nrBlocks,
      nrAllocated: this.ll.nrAllocated,
      bitmapRoot: this.ll.index.root,
      refCountRoot: this.ll.refCountRoot,
    });
  }

  /** in() ... out(): run a change to the map; ops queued meanwhile are applied when the outermost ends. */
  private async guarded(fn: () => Promise<unknown>): Promise<void> {
    this.recursion++;
    try {
      await fn();
    } finally {
      if (this.recursion === 1) await this.applyOps();
      this.recursion--;
    }
  }

  private addOp(type: 'inc' | 'dec', block: number): void {
    if (this.uncommitted.length >= MAX_RECURSIVE_OPS)
      throw new NoSpaceError('space map metadata: too many recursive allocations');
    this.uncommitted.push({ type, block });
  }

  /** apply_bops: each op is applied while still queued (counts read meanwhile include it), then dropped. */
  private async applyOps(): Promise<void> {
    while (this.uncommitted.length > 0) {
      const op = this.uncommitted[0]!;
      if (op.type === 'inc') await this.ll.inc(op.block);
      else await this.ll.dec(op.block);
      this.uncommitted.shift();
    }
  }

  private checkThreshold(): void {
    const t = this.threshold;
    if (!t) return;
    const free = this.nrFree();
    const below = (v: number): boolean => v <= t.value;
    if (below(free) && !(t.last !== undefined && below(t.last))) t.fn();
    t.last = free;
  }
}
