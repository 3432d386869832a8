// CoreLog: the in-memory dirty log ("core", drivers/md/dm-log.c core_*): clean, sync and recovering
// bitsets, the forward-only resync cursor and the sync count. DiskLog extends it with persistence, as the
// kernel's disk log reuses every core_* operation and only adds resume, flush and status.

import type { DmDevice } from '../../src/dm/target.js';
import type { DirtyLog, DirtyLogOwner, LogArgs } from './dirty-log.js';
import { RegionBitset } from './region-bitset.js';
import type { MirrorLogStatus, MirrorLogTable, SyncMode } from './status.js';

export class CoreLog implements DirtyLog {
  get typeName(): 'core' | 'disk' {
    return 'core';
  }
  readonly regionSize: number;
  readonly regionCount: number;
  readonly sync: SyncMode;
  protected readonly owner: DirtyLogOwner;
  protected readonly cleanBits: RegionBitset;
  protected readonly syncBits: RegionBitset;
  protected readonly recoveringBits: RegionBitset;
  protected syncCount: number;
  /** sync_search: only moves forward; reset on resume. */
  protected syncSearch = 0;
  /** Set by any bit set / bit clear; the disk log writes only when one is set. */
  protected touchedCleaned = false;
  protected touchedDirtied = false;
  /** A flush of the legs failed: from then on no region may be marked clean. */
  protected flushFailed = false;

  constructor(owner: DirtyLogOwner, args: LogArgs, cleanBits?: RegionBitset) {
    this.owner = owner;
    this.regionSize = args.regionSize;
    this.regionCount = Math.ceil(owner.targetLen / args.regionSize);
    this.sync = args.sync;
    this.cleanBits = cleanBits ?? RegionBitset.forRegions(this.regionCount);
    this.cleanBits.fill(true);
    this.syncBits = RegionBitset.forRegions(this.regionCount);
    this.syncBits.fill(args.sync === 'nosync');
    this.syncCount = args.sync === 'nosync' ? this.regionCount : 0;
    this.recoveringBits = RegionBitset.forRegions(this.regionCount);
  }

  async resume(): Promise<void> {
    this.syncSearch = 0;
  }

  async postsuspend(): Promise<void> {}

  isClean(region: number): boolean {
    return this.cleanBits.test(region);
  }

  inSync(region: number): boolean {
    return this.syncBits.test(region);
  }

  async flush(): Promise<void> {}

  markRegion(region: number): void {
    this.clearBit(this.cleanBits, region);
  }

  clearRegion(region: number): void {
    if (!this.flushFailed) this.setBit(this.cleanBits, region);
  }

  getResyncWork(): number | null {
    if (this.syncSearch >= this.regionCount) return null;
    let region: number;
    do {
      region = this.syncBits.findNextZero(this.regionCount, this.syncSearch);
      this.syncSearch = region + 1;
      if (region >= this.regionCount) return null;
    } while (this.recoveringBits.test(region));
    this.setBit(this.recoveringBits, region);
    return region;
  }

  setRegionSync(region: number, inSync: boolean): void {
    this.clearBit(this.recoveringBits, region);
    if (inSync) {
      // The kernel counts without checking the old bit; recovery only hands out unsynced regions.
      this.setBit(this.syncBits, region);
      this.syncCount++;
    } else if (this.syncBits.test(region)) {
      this.syncCount--;
      this.clearBit(this.syncBits, region);
    }
  }

  getSyncCount(): number {
    return this.syncCount;
  }

  statusFields(): MirrorLogStatus {
    return { type: 'core' };
  }

  tableFields(): MirrorLogTable {
    return { type: 'core', regionSectors: this.regionSize, sync: this.sync };
  }

  devices(): DmDevice[] {
    return [];
  }

  protected setBit(bits: RegionBitset, region: number): void {
    bits.set(region);
    this.touchedCleaned = true;
  }

  protected clearBit(bits: RegionBitset, region: number): void {
    bits.clear(region);
    this.touchedDirtied = true;
  }
}
