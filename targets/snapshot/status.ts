// The snapshot family's status and table parameters as typed objects, and back (dm-snap.c snapshot_status for
// snapshot and snapshot-merge, origin_status for snapshot-origin; libdm's dm_get_status_snapshot reads the same
// words). The targets print through the format functions, so what they print and what users parse is one rule.
//
// STATUSTYPE_INFO, checked in the kernel's order: `Invalid` (!valid), `Merge failed`, `Overflow`, else
// `<sectors_allocated>/<total_sectors> <metadata_sectors>` (allocated and total both count the metadata).
// STATUSTYPE_TABLE: `<origin> <cow> <P|PO|N> <chunk_sectors>[ <n> discard_zeroes_cow[ discard_passdown_origin]]`.
// snapshot-origin prints `<origin>` as its table and nothing as its status.

import { InvalidArgumentError } from '../../src/base/errors.js';

/** A snapshot's (or snapshot-merge's) status: its usage in sectors, or the state that replaced it. */
export type SnapshotStatus =
  | { state: 'active'; allocatedSectors: number; totalSectors: number; metadataSectors: number }
  | { state: 'invalid' | 'overflow' | 'merge-failed' };

/** The store words of a snapshot table: P (persistent), PO (persistent, overflow supported) or N (transient). */
export type SnapshotStoreType = 'P' | 'PO' | 'N';

export interface SnapshotTableParams {
  origin: string;
  cow: string;
  store: SnapshotStoreType;
  chunkSectors: number;
  discardZeroesCow: boolean;
  discardPassdownOrigin: boolean;
}

export interface OriginTableParams {
  origin: string;
}

const STATE_WORDS = { invalid: 'Invalid', overflow: 'Overflow', 'merge-failed': 'Merge failed' } as const;

function fail(target: string, type: string, params: string, why: string): never {
  throw new InvalidArgumentError(`not a ${target} ${type} line: "${params}" (${why})`);
}

function count(word: string | undefined): number | undefined {
  return word !== undefined && /^\d+$/.test(word) ? Number(word) : undefined;
}

export function parseSnapshotStatus(params: string): SnapshotStatus {
  const text = params.trim();
  for (const [state, word] of Object.entries(STATE_WORDS)) {
    if (text === word) return { state: state as keyof typeof STATE_WORDS };
  }
  const m = /^(\d+)\/(\d+) (\d+)$/.exec(text);
  if (!m)
    fail('snapshot', 'status', params, 'expected <allocated>/<total> <metadata>, Invalid, Overflow or Merge failed');
  return {
    state: 'active',
    allocatedSectors: Number(m[1]),
    totalSectors: Number(m[2]),
    metadataSectors: Number(m[3]),
  };
}

export function formatSnapshotStatus(s: SnapshotStatus): string {
  if (s.state !== 'active') return STATE_WORDS[s.state];
  return `${s.allocatedSectors}/${s.totalSectors} ${s.metadataSectors}`;
}

/**
 * A snapshot-merge has copied every exception back: allocated equals metadata (the persistent store's
 * `2C/total 2C`), the condition lvm2 polls for before it swaps the table back to linear.
 */
export function isMergeComplete(s: SnapshotStatus): boolean {
  return s.state === 'active' && s.allocatedSectors === s.metadataSectors;
}

export function parseSnapshotTable(params: string): SnapshotTableParams {
  const w = params.trim().split(/\s+/);
  const [origin, cow, store, chunkWord] = w;
  const chunkSectors = count(chunkWord);
  if (origin === undefined || cow === undefined || chunkSectors === undefined)
    fail('snapshot', 'table', params, 'expected <origin> <cow> <P|PO|N> <chunk_size>');
  if (store !== 'P' && store !== 'PO' && store !== 'N') fail('snapshot', 'table', params, 'store is P, PO or N');
  const features = w.slice(5);
  if (w.length > 4 && count(w[4]) !== features.length) fail('snapshot', 'table', params, 'feature count');
  return {
    origin,
    cow,
    store,
    chunkSectors,
    discardZeroesCow: features.includes('discard_zeroes_cow'),
    discardPassdownOrigin: features.includes('discard_passdown_origin'),
  };
}

export function formatSnapshotTable(t: SnapshotTableParams): string {
  const features = [
    t.discardZeroesCow ? 'discard_zeroes_cow' : '',
    t.discardPassdownOrigin ? 'discard_passdown_origin' : '',
  ].filter(Boolean);
  const tail = features.length > 0 ? ` ${features.length} ${features.join(' ')}` : '';
  return `${t.origin} ${t.cow} ${t.store} ${t.chunkSectors}${tail}`;
}

export function parseOriginTable(params: string): OriginTableParams {
  const w = params.trim().split(/\s+/);
  if (w.length !== 1 || w[0] === '') fail('snapshot-origin', 'table', params, 'expected <origin>');
  return { origin: w[0]! };
}

export function formatOriginTable(t: OriginTableParams): string {
  return t.origin;
}
