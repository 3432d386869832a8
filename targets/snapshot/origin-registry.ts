// OriginRegistry: the snapshots registered on each origin device and the origin targets over it (the kernel's
// _origins and _dm_origins hash tables in dm-snap.c), and do_origin: before an origin write goes down, every
// active snapshot that lacks the chunk gets a copy of the old data, and the write waits for all of them.

import type { BlockDevice } from '../../src/block/block-device.js';
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
}

interface OriginEntry {
  /** Sorted by chunk size, largest first (__insert_snapshot). */
  snapshots: RegisteredSnapshot[];
}

const origins = new Map<BlockDevice, OriginEntry>();

export function registerSnapshot(origin: BlockDevice, snap: RegisteredSnapshot): void {
  const entry = origins.get(origin) ?? { snapshots: [] };
  origins.set(origin, entry);
  const list = entry.snapshots.filter((s) => s !== snap);
  const at = list.findIndex((s) => s.chunkSize < snap.chunkSize);
  list.splice(at < 0 ? list.length : at, 0, snap);
  entry.snapshots = list;
}

export function unregisterSnapshot(origin: BlockDevice, snap: RegisteredSnapshot): void {
  const entry = origins.get(origin);
  if (!entry) return;
  entry.snapshots = entry.snapshots.filter((s) => s !== snap);
  if (entry.snapshots.length === 0) origins.delete(origin);
}

export function snapshotsOf(origin: BlockDevice): readonly RegisteredSnapshot[] {
  return origins.get(origin)?.snapshots ?? [];
}

/** The other snapshots of the origin that share this COW device (for handover and "already merging"). */
export function sharingCow(origin: BlockDevice, cow: BlockDevice, self: RegisteredSnapshot): RegisteredSnapshot[] {
  return snapshotsOf(origin).filter((s) => s !== self && s.cowDevice === cow);
}

/** get_origin_minimum_chunksize: the smallest chunk size of the origin's snapshots, 0 when it has none. */
export function minimumChunkSize(origin: BlockDevice): number {
  let min = 0;
  for (const s of snapshotsOf(origin)) if (s.chunkSize > 0 && (min === 0 || s.chunkSize < min)) min = s.chunkSize;
  return min;
}

/**
 * Triggers the copies an origin write at `sector` needs, in list order, and returns what to wait for
 * (the kernel's __origin_write). Empty = the write may go to the origin now.
 */
export function triggerCopies(origin: BlockDevice, sector: number): Promise<unknown>[] {
  const waits: Promise<unknown>[] = [];
  for (const s of snapshotsOf(origin)) {
    if (s.merging) continue;
    const pe = s.prepareForOriginWrite(sector);
    if (pe) waits.push(pe);
  }
  return waits;
}

/** do_origin: holds the write until no snapshot needs a copy of its chunk any more, then runs it. */
export async function originWrite(origin: BlockDevice, sector: number, write: () => Promise<void>): Promise<void> {
  for (;;) {
    const waits = triggerCopies(origin, sector);
    if (waits.length === 0) break;
    // Whatever the copies' outcome, the check runs again: a snapshot that failed is now invalid and skipped.
    await Promise.all(waits);
  }
  await write();
}

/** Waits for every piece of a split request; the request fails with the first piece's error. */
export async function settleAll(pieces: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(pieces);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
