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

/** One job on a client's list, as the inspector shows it (a sub-job names its master and slot). */
export interface InspectedJob {
  id: number;
  kind: 'copy' | 'zero' | 'callback';
  /** The master's id (the job's own for a master, an unsplit job or a callback) and the sub-job slot. */
  master: number;
  slot: number | null;
  op: 'read' | 'write';
  /** "DEV:SECTOR+COUNT" of the source (null when zeroing or for a callback) and of each destination. */
  source: string | null;
  dests: string[];
  /** Pages the job holds. */
  pages: number;
  readErr: boolean;
  writeErr: number;
}

/** A kcopyd client's state for the inspector: its four lists, its pages and its throttle. */
export interface KcopydClientInspection {
  id: number;
  owner: string;
  /** The kernel's list names, in the worker's order (do_work: complete, pages, io; callbacks join complete). */
  lists: { complete: InspectedJob[]; pages: InspectedJob[]; io: InspectedJob[]; callback: InspectedJob[] };
  /** nr_jobs: dispatched jobs, split masters and prepared callbacks not yet completed. */
  nrJobs: number;
  pages: {
    reserveTotal: number;
    reserveFree: number;
    sharedUsed: number;
    engineSharedUsed: number;
    sharedLimit: number | null;
  };
  /** null: the client is not throttled; else the percent and the current decay interval's busy/total ms. */
  throttle: { percent: number; ioMs: number; totalMs: number; inFlight: number } | null;
}

/** The client API every target uses. */
export interface KcopydClient {
  readonly id: number;
  readonly owner: string;
  /** The client's lists, pages and throttle as they are now (absent on clients that are not the engine's). */
  inspect?(): KcopydClientInspection;
  /** dm_kcopyd_copy / dm_kcopyd_zero. Returns the job's id (the `job` of its kcopyd.job events), so a caller can
   * name the job in its own events without anyone listening to kcopyd's (the kernel returns nothing). */
  copy<C>(from: IoRegion, dests: IoRegion[], flags: KcopydFlags, notify: KcopydNotify<C>, context: C): number;
  zero<C>(dests: IoRegion[], flags: KcopydFlags, notify: KcopydNotify<C>, context: C): number;
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
