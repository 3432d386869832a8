// ExceptionStore: where a snapshot keeps its exceptions (mirrors drivers/md/dm-exception-store.{c,h}):
// the store type letter (P, PO, N), the chunk size rules, and the interface both stores implement.

import type { BlockDevice } from '../../src/block/block-device.js';
import { TargetArgumentError } from '../../src/dm/dm-args.js';
import type { SnapshotStoreType } from './status.js';

/** INT_MAX >> SECTOR_SHIFT: the largest chunk size the kernel accepts (it must also be a power of 2, so 2^21). */
const MAX_CHUNK_SECTORS = 0x7fffffff >> 9;

export interface StoreUsage {
  totalSectors: number;
  sectorsAllocated: number;
  metadataSectors: number;
}

/** The last committed exceptions a merge copies back in one go: a run of `count` consecutive chunks ending here. */
export interface MergeRun {
  lastOldChunk: number;
  lastNewChunk: number;
  count: number;
}

export interface ExceptionStore {
  /** 'P' or 'N' (PO is P with overflowSupported). */
  readonly kind: 'P' | 'N';
  readonly cow: BlockDevice;
  /** The effective chunk size in sectors (a persistent store may take the on-disk one in readMetadata). */
  readonly chunkSize: number;
  /** PO: a snapshot write that cannot get a chunk overflows the snapshot instead of invalidating it (a handover keeps the destination's). */
  overflowSupported: boolean;
  /** Reads what is on the COW; calls add for every committed exception. 'invalid' = header says valid=0. */
  readMetadata(add: (oldChunk: number, newChunk: number) => void): Promise<'ok' | 'invalid'>;
  /** Allocates the next COW chunk, or null when it does not fit (ENOSPC). */
  prepareException(): number | null;
  /**
   * Records a finished copy. Resolves with whether the store is still valid once the record is durable
   * (persistent commits are batched: it may resolve only when the last in-flight exception commits).
   */
  commitException(oldChunk: number, newChunk: number, valid: boolean): Promise<boolean>;
  usage(): StoreUsage;
  /** Invalidation: the persistent store writes valid=0 into its header. */
  drop(): Promise<void>;
  /** snapshot-merge support (persistent only): the newest run of committed exceptions, or null when none is left. */
  prepareMerge?(): Promise<MergeRun | null>;
  /** Clears the last `count` records and writes the area. */
  commitMerge?(count: number): Promise<void>;
  /** The store word of the table line: P, PO or N. */
  tableType(): SnapshotStoreType;
}

/** dm_exception_store_set_chunk_size: returns an error text, or null when the size is acceptable. */
export function chunkSizeError(chunkSize: number): string | null {
  if (chunkSize === 0) return null;
  if (!Number.isInteger(Math.log2(chunkSize))) return 'Chunk size is not a power of 2';
  // Every dmsim device has 512-byte logical blocks, so the "multiple of device blocksize" rule always holds.
  if (chunkSize > MAX_CHUNK_SECTORS) return 'Chunk size is too high';
  return null;
}

export interface StoreArgs {
  kind: 'P' | 'N';
  overflowSupported: boolean;
  /** 0 = from the COW header, or the default for a fresh persistent store. */
  chunkSize: number;
}

/** 6.1's ti->error for every store refusal; dmsim adds the precise cause as the detail. */
const STORE_ERROR = "Couldn't create exception store";

/**
 * Parses `<P|PO|N> <chunk_size>` (arguments 2 and 3 of the table) as dm_exception_store_create does: only the
 * first letter picks the type (case ignored); for P only the first option letter is checked and must be O;
 * extra letters after N are ignored.
 */
export function parseStoreArgs(type: string, chunk: string): StoreArgs {
  const letter = type.charAt(0).toUpperCase();
  let overflowSupported = false;
  if (letter === 'P') {
    if (type.length > 1) {
      if (type.charAt(1).toUpperCase() !== 'O') {
        throw new TargetArgumentError(
          STORE_ERROR,
          2,
          `Unsupported persistent store option: ${type.slice(1)} (only PO)`,
        );
      }
      overflowSupported = true;
    }
  } else if (letter !== 'N') {
    throw new TargetArgumentError(STORE_ERROR, 2, 'Exception store type is not P or N');
  }
  if (!/^\d+$/.test(chunk) || Number(chunk) > 0xffffffff) {
    throw new TargetArgumentError(STORE_ERROR, 3, 'Invalid chunk size: a whole number of 512-byte sectors');
  }
  const chunkSize = Number(chunk);
  const err = chunkSizeError(chunkSize);
  if (err) throw new TargetArgumentError(STORE_ERROR, 3, `${err} (up to ${2 ** 21} sectors)`);
  if (letter === 'N' && chunkSize === 0)
    throw new TargetArgumentError('Chunk size not set', 3, 'a transient store has no header to take it from');
  return { kind: letter === 'P' ? 'P' : 'N', overflowSupported, chunkSize };
}
