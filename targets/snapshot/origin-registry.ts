// OriginRegistry: the snapshots registered on each origin device and the origin targets over it (the kernel's
// _origins and _dm_origins hash tables in dm-snap.c), and do_origin: before an origin write goes down, every
// active snapshot that lacks the chunk gets a copy of the old data, and the write waits for all of them.

import type { BlockDevice } from '../../src/block/block-device.js';
import type { TargetContext } from '../../src/dm/target.js';
/** What the origin needs from each of its snapshots. */
export interface RegisteredSnapshot {
  readonly cowDevice: BlockDevice;
  readonly chunkSize: number;
  /** A snapshot-merge target: skipped by origin writes (it routes its own I/O). */
  readonly merging: boolean;
  /** Resumed at least once (the kernel's s->active). */
  readonly active: boolean;
  /**
   * One snapshot's step of __origin_write for the chunk holding `sector`: null when it needs nothing (already
   * has the exception, is invalid or inactive, or the sector is past its end), else what to wait for: its
   * pending exception (created and its copy started if need be), or its invalidation when the COW is full.
   */
  prepareForOriginWrite(sector: number): Promise<unknown> | null;
  /** wait_for_in_progress: what to wait for while more copies than snapshot_cow_threshold are in flight, else null. */
  copiesThrottled(): Promise<void> | null;
}

interface OriginEntry {
  /** Sorted by chunk size, largest first (__insert_snapshot). */
  snapshots: RegisteredSnapshot[];
}

/** Whether two handles are the same underlying device (bdev_equal). */
export function sameDevice(a: BlockDevice, b: BlockDevice): boolean {
  return a === b || a.name === b.name;
}

/**
 * The origins of one device-mapper instance. Origins are keyed by device name (the path or /dev/mapper/NAME the
 * table gave), not by handle: two tables naming one device may hold different handles on it, and the kernel
 * keys by the block device.
 */
export class OriginRegistry {
  private readonly origins = new Map<string, OriginEntry>();

  register(origin: BlockDevice, snap: RegisteredSnapshot): void {
    const entry = this.origins.get(origin.name) ?? { snapshots: [] };
    this.origins.set(origin.name, entry);
    const list = entry.snapshots.filter((s) => s !== snap);
    const at = list.findIndex((s) => s.chunkSize < snap.chunkSize);
    list.splice(at < 0 ? list.length : at, 0, snap);
    entry.snapshots = list;
  }

  unregister(origin: BlockDevice, snap: RegisteredSnapshot): void {
    const entry = this.origins.get(origin.name);
    if (!entry) return;
    entry.snapshots = entry.snapshots.filter((s) => s !== snap);
    if (entry.snapshots.length === 0) this.origins.delete(origin.name);
  }

  snapshotsOf(origin: BlockDevice): readonly RegisteredSnapshot[] {
    return this.origins.get(origin.name)?.snapshots ?? [];
  }

  /** The other snapshots of the origin that share this COW device (for handover). */
  sharingCow(origin: BlockDevice, cow: BlockDevice, self: RegisteredSnapshot): RegisteredSnapshot[] {
    return this.snapshotsOf(origin).filter((s) => s !== self && sameDevice(s.cowDevice, cow));
  }

  /** get_origin_minimum_chunksize: the smallest chunk size of the origin's snapshots, 0 when it has none. */
  minimumChunkSize(origin: BlockDevice): number {
    let min = 0;
    for (const s of this.snapshotsOf(origin))
      if (s.chunkSize > 0 && (min === 0 || s.chunkSize < min)) min = s.chunkSize;
    return min;
  }

  /**
   * Triggers the copies an origin write at `sector` needs, in list order, and returns what to wait for
   * (the kernel's __origin_write). Empty = the write may go to the origin now.
   */
  triggerCopies(origin: BlockDevice, sector: number): Promise<unknown>[] {
    const waits: Promise<unknown>[] = [];
    for (const s of this.snapshotsOf(origin)) {
      if (s.merging) continue;
      const pe = s.prepareForOriginWrite(sector);
      if (pe) waits.push(pe);
    }
    return waits;
  }

  /**
   * do_origin: holds the write until no snapshot needs a copy of its chunk any more, then runs it. `limit`
   * (origin target writes, not the merge's) first waits for snapshots with too many copies in flight.
   */
  async originWrite(origin: BlockDevice, sector: number, write: () => Promise<void>, limit = true): Promise<void> {
    for (;;) {
      const throttled = limit
        ? this.snapshotsOf(origin)
            .map((s) => s.copiesThrottled())
            .find((w) => w !== null)
        : undefined;
      if (throttled) {
        await throttled;
        continue;
      }
      const waits = this.triggerCopies(origin, sector);
      if (waits.length === 0) break;
      // Whatever the copies' outcome, the check runs again: a snapshot that failed is now invalid and skipped.
      await Promise.all(waits);
    }
    await write();
  }
}

const registries = new WeakMap<object, OriginRegistry>();

/**
 * The registry of the device-mapper instance a table belongs to. Each DeviceMapper has its own kcopyd
 * environment, so that object names the instance (several can live in one process: tests, the TUI).
 */
export function registryFor(ctx: TargetContext): OriginRegistry {
  let r = registries.get(ctx.kcopyd);
  if (!r) {
    r = new OriginRegistry();
    registries.set(ctx.kcopyd, r);
  }
  return r;
}

/** Waits for every piece of a split request; the request fails with the first piece's error. */
export async function settleAll(pieces: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(pieces);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
