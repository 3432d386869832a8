// The low-level disk format of a space map (dm-space-map-common.c: struct ll_disk): bitmaps of 2-bit counts
// found through an index, and a ref-count btree (le32 values) for the blocks whose count is 3 or more. The
// index differs by map: the metadata map keeps it in one index block (MetadataIndex), the data map in a btree
// of index entries (DiskIndex). A change shadows the bitmap block through the transaction manager.

import { CorruptMetadataError, NoSpaceError } from '../base/errors.js';
import { btreeEmpty, btreeInsert, btreeLookup } from './btree.js';
import { btreeRemove } from './btree-remove.js';
import type { BtreeInfo, ValueType } from './btree-spine.js';
import {
  bitmapValidator,
  decodeIndexEntry,
  ENTRIES_PER_BITMAP,
  encodeIndexEntry,
  findFreeInBitmap,
  INDEX_ENTRY_SIZE,
  type IndexEntry,
  indexValidator,
  lookupBitmap,
  setBitmap,
} from './sm-bitmap.js';
import type { TransactionManager } from './transaction-manager.js';

/** What a count change did to the block: it became used, became free, or neither. */
export type AllocationEvent = 'alloc' | 'free' | 'none';

/** Where the index entries live (ll->load_ie/save_ie/commit/max_entries). */
export interface IndexStore {
  readonly maxEntries: number;
  /** bitmap_root of the disk_sm_root: the index block, or the index btree's root. */
  readonly root: number;
  load(i: number): Promise<IndexEntry>;
  save(i: number, ie: IndexEntry): Promise<void>;
  /** Writes the index out for a commit (only the metadata map has anything to write). */
  commit(): Promise<void>;
  /** The index as it stands now, unaffected by later changes (for old_ll). */
  snapshot(): IndexStore;
}

/** MAX_METADATA_BITMAPS: index entries in the metadata map's single index block. */
export const MAX_METADATA_BITMAPS = 255;
const INDEX_HEADER = 16;

/** The metadata space map's index: 255 entries held in core, written to a shadow of the index block at commit. */
export class MetadataIndex implements IndexStore {
  readonly maxEntries = MAX_METADATA_BITMAPS;
  private readonly tm: TransactionManager;
  private entries: IndexEntry[];
  private block: number;
  private changed = false;

  private constructor(tm: TransactionManager, block: number, entries: IndexEntry[]) {
    this.tm = tm;
    this.block = block;
    this.entries = entries;
  }

  get root(): number {
    return this.block;
  }

  /** metadata_ll_init_index: a new, empty index block. */
  static async create(tm: TransactionManager): Promise<MetadataIndex> {
    const b = await tm.newBlock(indexValidator);
    return new MetadataIndex(tm, b.location, []);
  }

  /** metadata_ll_open: reads the index block. */
  static async open(tm: TransactionManager, block: number): Promise<MetadataIndex> {
    const data = await tm.readLock(block, indexValidator);
    const entries: IndexEntry[] = [];
    for (let i = 0; i < MAX_METADATA_BITMAPS; i++)
      entries.push(decodeIndexEntry(data, INDEX_HEADER + i * INDEX_ENTRY_SIZE));
    return new MetadataIndex(tm, block, entries);
  }

  async load(i: number): Promise<IndexEntry> {
    return { ...(this.entries[i] ?? { blocknr: 0, nrFree: 0, noneFreeBefore: 0 }) };
  }

  async save(i: number, ie: IndexEntry): Promise<void> {
    this.entries[i] = { ...ie };
    this.changed = true;
  }

  /** metadata_ll_commit: shadow the index block and copy the in-core index into it. */
  async commit(): Promise<void> {
    if (!this.changed) return;
    const b = await this.tm.shadowBlock(this.block, indexValidator);
    this.entries.forEach((ie, i) => {
      encodeIndexEntry(ie, b.data, INDEX_HEADER + i * INDEX_ENTRY_SIZE);
    });
    this.block = b.location;
    this.changed = false;
  }

  snapshot(): IndexStore {
    return new MetadataIndex(
      this.tm,
      this.block,
      this.entries.map((e) => ({ ...e })),
    );
  }
}

/** The index entry values of the data map's index btree: plain bytes, no references. */
const indexEntryType: ValueType = { size: INDEX_ENTRY_SIZE };

/** The data space map's index: a btree from bitmap number to index entry (disk_ll_load_ie/save_ie). */
export class DiskIndex implements IndexStore {
  readonly maxEntries = Number.MAX_SAFE_INTEGER;
  private readonly info: BtreeInfo;
  private block: number;

  private constructor(tm: TransactionManager, block: number) {
    this.info = { tm, levels: 1, valueType: indexEntryType };
    this.block = block;
  }

  get root(): number {
    return this.block;
  }

  static async create(tm: TransactionManager): Promise<DiskIndex> {
    return new DiskIndex(tm, await btreeEmpty({ tm, levels: 1, valueType: indexEntryType }));
  }

  static open(tm: TransactionManager, block: number): DiskIndex {
    return new DiskIndex(tm, block);
  }

  async load(i: number): Promise<IndexEntry> {
    const v = await btreeLookup(this.info, this.block, [i]);
    if (!v) throw new NoSpaceError(`space map index has no entry for bitmap ${i}`);
    return decodeIndexEntry(v);
  }

  async save(i: number, ie: IndexEntry): Promise<void> {
    this.block = (await btreeInsert(this.info, this.block, [i], encodeIndexEntry(ie))).root;
  }

  async commit(): Promise<void> {}

  snapshot(): IndexStore {
    return new DiskIndex(this.info.tm, this.block);
  }
}

/** le32 full counts of the blocks whose bitmap entry is 3. */
const refCountType: ValueType = { size: 4 };

/** struct ll_disk. */
export class LowLevel {
  readonly tm: TransactionManager;
  nrBlocks: number;
  nrAllocated: number;
  refCountRoot: number;
  index: IndexStore;

  constructor(tm: TransactionManager, index: IndexStore, nrBlocks: number, nrAllocated: number, refCountRoot: number) {
    this.tm = tm;
    this.index = index;
    this.nrBlocks = nrBlocks;
    this.nrAllocated = nrAllocated;
    this.refCountRoot = refCountRoot;
  }

  /** sm_ll_new_*: an empty map with the given index and a new, empty ref-count tree. */
  static async create(tm: TransactionManager, index: IndexStore): Promise<LowLevel> {
    return new LowLevel(tm, index, 0, 0, await btreeEmpty({ tm, levels: 1, valueType: refCountType }));
  }

  /** The map as it stands (memcpy of ll into old_ll). */
  snapshot(): LowLevel {
    return new LowLevel(this.tm, this.index.snapshot(), this.nrBlocks, this.nrAllocated, this.refCountRoot);
  }

  private get refCountInfo(): BtreeInfo {
    return { tm: this.tm, levels: 1, valueType: refCountType };
  }

  /** sm_ll_extend: more blocks, with new, all-free bitmaps where needed. */
  async extend(extra: number): Promise<void> {
    const nrBlocks = this.nrBlocks + extra;
    const oldBitmaps = Math.ceil(this.nrBlocks / ENTRIES_PER_BITMAP);
    const bitmaps = Math.ceil(nrBlocks / ENTRIES_PER_BITMAP);
    if (bitmaps > this.index.maxEntries)
      throw new NoSpaceError(`space map too large: ${nrBlocks} blocks need more than ${this.index.maxEntries} bitmaps`);
    // Set before the new blocks are taken (the kernel does so too).
    this.nrBlocks = nrBlocks;
    for (let i = oldBitmaps; i < bitmaps; i++) {
      const b = await this.tm.newBlock(bitmapValidator);
      await this.index.save(i, { blocknr: b.location, nrFree: ENTRIES_PER_BITMAP, noneFreeBefore: 0 });
    }
  }

  /** sm_ll_lookup_bitmap: the 2-bit count. */
  async lookupBitmap(b: number): Promise<number> {
    const ie = await this.index.load(Math.floor(b / ENTRIES_PER_BITMAP));
    const data = await this.tm.readLock(ie.blocknr, bitmapValidator);
    return lookupBitmap(data, b % ENTRIES_PER_BITMAP);
  }

  /** sm_ll_lookup: the full count. */
  async lookup(b: number): Promise<number> {
    const c = await this.lookupBitmap(b);
    return c === 3 ? this.lookupBig(b) : c;
  }

  private async lookupBig(b: number): Promise<number> {
    const v = await btreeLookup(this.refCountInfo, this.refCountRoot, [b]);
    return v ? v.readUInt32LE(0) : 0;
  }

  /** sm_ll_find_free_block: the first block in [begin, end) with count 0, or undefined. */
  async findFreeBlock(begin: number, end: number): Promise<number | undefined> {
    const first = Math.floor(begin / ENTRIES_PER_BITMAP);
    const indexEnd = Math.ceil(end / ENTRIES_PER_BITMAP);
    for (let i = first; i < indexEnd; i++) {
      const ie = await this.index.load(i);
      if (ie.nrFree === 0) continue;
      const data = await this.tm.readLock(ie.blocknr, bitmapValidator);
      const lo = i === first ? begin % ENTRIES_PER_BITMAP : 0;
      const hi = i === indexEnd - 1 ? end - i * ENTRIES_PER_BITMAP : ENTRIES_PER_BITMAP;
      const at = findFreeInBitmap(data, Math.max(lo, ie.noneFreeBefore), hi);
      if (at !== undefined) return i * ENTRIES_PER_BITMAP + at;
    }
    return undefined;
  }

  /**
   * sm_ll_find_common_free_block: a block free here and in `old` (the last committed map), so that nothing
   * the committed metadata still uses is overwritten before the next commit.
   */
  async findCommonFreeBlock(old: LowLevel, begin: number, end: number): Promise<number | undefined> {
    for (;;) {
      const b = await this.findFreeBlock(begin, end);
      if (b === undefined) return undefined;
      if (b >= old.nrBlocks || (await old.lookup(b)) === 0) return b;
      begin = b + 1;
    }
  }

  /** sm_ll_mutate: sets a block's count to what `next` makes of the old one. */
  private async mutate(b: number, next: (old: number) => number): Promise<AllocationEvent> {
    const index = Math.floor(b / ENTRIES_PER_BITMAP);
    const bit = b % ENTRIES_PER_BITMAP;
    const ie = await this.index.load(index);
    const nb = await this.tm.shadowBlock(ie.blocknr, bitmapValidator);
    ie.blocknr = nb.location;
    let old = lookupBitmap(nb.data, bit);
    if (old > 2) old = await this.lookupBig(b);
    const count = next(old);
    if (count <= 2) {
      setBitmap(nb.data, bit, count);
      if (old > 2)
        this.refCountRoot = (await btreeRemove(this.refCountInfo, this.refCountRoot, [b])) ?? this.refCountRoot;
    } else {
      setBitmap(nb.data, bit, 3);
      const le = Buffer.alloc(4);
      le.writeUInt32LE(count);
      this.refCountRoot = (await btreeInsert(this.refCountInfo, this.refCountRoot, [b], le)).root;
    }
    let ev: AllocationEvent = 'none';
    if (count && !old) {
      ev = 'alloc';
      this.nrAllocated++;
      ie.nrFree--;
      if (ie.noneFreeBefore === bit) ie.noneFreeBefore = bit + 1;
    } else if (old && !count) {
      ev = 'free';
      this.nrAllocated--;
      ie.nrFree++;
      ie.noneFreeBefore = Math.min(ie.noneFreeBefore, bit);
    }
    await this.index.save(index, ie);
    return ev;
  }

  inc(b: number): Promise<AllocationEvent> {
    return this.mutate(b, (old) => old + 1);
  }

  dec(b: number): Promise<AllocationEvent> {
    return this.mutate(b, (old) => {
      if (old === 0)
        throw new CorruptMetadataError(`space map: unable to decrement the reference count of block ${b} below 0`);
      return old - 1;
    });
  }

  /** sm_ll_insert: sets a count outright. */
  set(b: number, count: number): Promise<AllocationEvent> {
    return this.mutate(b, () => count);
  }

  /** sm_ll_commit. */
  commit(): Promise<void> {
    return this.index.commit();
  }
}
