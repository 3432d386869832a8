// Public types of the kcopyd engine (include/linux/dm-kcopyd.h in TypeScript form).

import type { BlockDevice } from '../block/block-device.js';
import type { KcopydThrottle } from './throttle.js';

/** struct dm_io_region: a device, a first sector and a length in sectors. */
export interface IoRegion {
  bdev: BlockDevice;
  sector: number;
  count: number;
}

/**
 * A job's flags. The kernel's `unsigned long flags` holds bits whose NUMBERS dm-kcopyd.h defines
 * (DM_KCOPYD_IGNORE_ERROR 1, DM_KCOPYD_WRITE_SEQ 2, tested with test_bit), so the IGNORE_ERROR mask (2) equals
 * WRITE_SEQ's bit number and a caller mixing the two gets the other flag silently. dmsim takes named booleans
 * instead and refuses a number (validate.ts), so one cannot be passed for the other.
 */
export interface KcopydFlags {
  /** DM_KCOPYD_IGNORE_ERROR: go on after a failed read or write (the errors are still reported). */
  readonly ignoreError?: boolean;
  /** DM_KCOPYD_WRITE_SEQ: write a split job's chunks in ascending order (zoned devices); errors are then never ignored. */
  readonly writeSeq?: boolean;
}

/** DM_KCOPYD_MAX_REGIONS: most destinations one job may have. */
export const DM_KCOPYD_MAX_REGIONS = 8;

/**
 * Completion: readErr is a boolean, writeErr has bit i set when destination i failed.
 * The kernel's "all ones" (a job whose I/O could not even be issued) is WRITE_ERR_ALL.
 */
export type KcopydNotify<C = unknown> = (readErr: boolean, writeErr: number, context: C) => void;
export const WRITE_ERR_ALL = 0xffffffff;

export interface KcopydClientOptions {
  /** Who owns the client, shown in events and the TUI: 'snapshot', 'mirror', 'merge', 'copy'. */
  owner: string;
  /** Pages set aside for this client (its reserve). Default: one sub-job's worth (128 at 1024 sectors). */
  reservePages?: number;
  /**
   * Throttle percent (100 = unlimited) for this client alone, or a KcopydThrottle several clients share
   * (as every mirror shares raid1_resync_throttle, every snapshot snapshot_copy_throttle).
   */
  throttle?: number | KcopydThrottle;
}

export interface KcopydResult {
  readErr: boolean;
  writeErr: number;
}

/** The client API every target uses. */
export interface KcopydClient {
  readonly id: number;
  readonly owner: string;
  copy<C>(from: IoRegion, dests: IoRegion[], flags: KcopydFlags, notify: KcopydNotify<C>, context: C): void;
  zero<C>(dests: IoRegion[], flags: KcopydFlags, notify: KcopydNotify<C>, context: C): void;
  /** Promise forms: resolve with the error bits when the callback would have run. */
  copyAsync(from: IoRegion, dests: IoRegion[], flags?: KcopydFlags): Promise<KcopydResult>;
  zeroAsync(dests: IoRegion[], flags?: KcopydFlags): Promise<KcopydResult>;
  /** dm_kcopyd_prepare_callback / dm_kcopyd_do_callback: run fn on the worker, serialised with copies. */
  prepareCallback<C>(notify: KcopydNotify<C>, context: C): KcopydCallbackJob;
  /** Waits for every outstanding job and prepared callback, then releases the reserve. */
  destroy(): Promise<void>;
}

export interface KcopydCallbackJob {
  doCallback(readErr: boolean, writeErr: number): void;
}
