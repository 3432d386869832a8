// TransactionManager: copy-on-write over the block manager (dm-transaction-manager.c). A committed block is
// never changed: the first change in a transaction shadows it (copies it to a new block and drops a reference
// to the original); a block already shadowed in this transaction and not shared is changed in place. Commit
// forgets the shadows, so the next transaction copies again. The space map it allocates from is set once it
// exists, because the metadata space map itself lives in blocks this manager hands out.

import type { BlockManager, BlockValidator } from './block-manager.js';
import type { SpaceMap } from './space-map.js';

/** A block locked for writing: its location and bytes. */
export interface WriteBlock {
  readonly location: number;
  readonly data: Buffer;
}

export class TransactionManager {
  readonly bm: BlockManager;
  private space: SpaceMap | undefined;
  private readonly shadows = new Set<number>();

  constructor(bm: BlockManager) {
    this.bm = bm;
  }

  get sm(): SpaceMap {
    if (!this.space) throw new Error('transaction manager used before its space map was set');
    return this.space;
  }

  set sm(sm: SpaceMap) {
    this.space = sm;
  }

  /** dm_tm_new_block: a zeroed block, counted once, that this transaction may change in place. */
  async newBlock(v: BlockValidator): Promise<WriteBlock> {
    const location = await this.sm.newBlock();
    const data = this.bm.writeLockZero(location, v);
    this.shadows.add(location);
    return { location, data };
  }

  /**
   * dm_tm_shadow_block: a writable version of `orig`. `inc` says the original was shared, so the caller must
   * increment everything the copy points at (the copy and the original now both reference it).
   */
  async shadowBlock(orig: number, v: BlockValidator): Promise<WriteBlock & { inc: boolean }> {
    const inc = await this.sm.countIsMoreThanOne(orig);
    if (this.shadows.has(orig) && !inc) return { location: orig, data: await this.bm.writeLock(orig, v), inc };
    const location = await this.sm.newBlock();
    await this.sm.dec(orig);
    const src = await this.bm.readLock(orig, v);
    const data = this.bm.writeLockZero(location, v);
    src.copy(data);
    this.shadows.add(location);
    return { location, data, inc };
  }

  /** Whether this transaction already owns a writable copy of `b` (is_shadow). */
  isShadow(b: number): boolean {
    return this.shadows.has(b);
  }

  readLock(b: number, v: BlockValidator): Promise<Buffer> {
    return this.bm.readLock(b, v);
  }

  /** dm_tm_write_lock on a block known to be this transaction's (a superblock rewrite, a shadow). */
  writeLock(b: number, v: BlockValidator): Promise<Buffer> {
    return this.bm.writeLock(b, v);
  }

  inc(b: number): Promise<void> {
    return this.sm.inc(b);
  }

  dec(b: number): Promise<void> {
    return this.sm.dec(b);
  }

  /** dm_tm_block_is_shared. */
  isShared(b: number): Promise<boolean> {
    return this.sm.countIsMoreThanOne(b);
  }

  /** dm_tm_pre_commit: commits the metadata space map and writes every dirty block but the superblock. */
  async preCommit(): Promise<void> {
    await this.sm.commit();
    await this.bm.flush();
  }

  /**
   * dm_tm_commit: the caller has written the superblock into its locked block; forget the shadows and write
   * it (last, after a flush barrier, so it never points at blocks that are not on disk).
   */
  async commit(): Promise<void> {
    this.shadows.clear();
    await this.bm.flush();
  }

  /** Drops this transaction's shadows and unwritten blocks (dm_pool_abort_metadata reopens from disk). */
  abort(): void {
    this.shadows.clear();
    this.bm.discardChanges();
  }
}
