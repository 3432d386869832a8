// Space-map bitmap blocks and index entries (dm-space-map-common.h/.c). A bitmap block holds 2-bit reference
// counts for 16320 blocks after a 16-byte header (csum, not_used, blocknr), 32 entries per little-endian
// 64-bit word, the even bit of each pair being the high bit; 3 means "look in the ref-count tree". An index
// entry (16 bytes) says where a bitmap lives, how many of its entries are free, and below which entry none is.

import { saltedValidator } from './block-manager.js';
import { readLe64, writeLe64 } from './btree-node.js';

export const ENTRIES_PER_BITMAP = (4096 - 16) * 4;
const BITMAP_HEADER = 16;
const ENTRIES_PER_WORD = 32;

export const bitmapValidator = saltedValidator('bitmap', 240779);
export const indexValidator = saltedValidator('index', 160478);

/** struct disk_index_entry. */
export interface IndexEntry {
  blocknr: number;
  nrFree: number;
  noneFreeBefore: number;
}

export const INDEX_ENTRY_SIZE = 16;

export function decodeIndexEntry(buf: Buffer, at = 0): IndexEntry {
  return { blocknr: readLe64(buf, at), nrFree: buf.readUInt32LE(at + 8), noneFreeBefore: buf.readUInt32LE(at + 12) };
}

export function encodeIndexEntry(ie: IndexEntry, buf: Buffer = Buffer.alloc(INDEX_ENTRY_SIZE), at = 0): Buffer {
  writeLe64(buf, at, ie.blocknr);
  buf.writeUInt32LE(ie.nrFree, at + 8);
  buf.writeUInt32LE(ie.noneFreeBefore, at + 12);
  return buf;
}

function pairAt(entry: number): { byte: number; shift: number } {
  const bit = 2 * (entry % ENTRIES_PER_WORD);
  return { byte: BITMAP_HEADER + 8 * Math.floor(entry / ENTRIES_PER_WORD) + (bit >> 3), shift: bit & 7 };
}

/** sm_lookup_bitmap: the 2-bit count of an entry. */
export function lookupBitmap(data: Buffer, entry: number): number {
  const { byte, shift } = pairAt(entry);
  const v = data[byte]!;
  return (((v >> shift) & 1) << 1) | ((v >> (shift + 1)) & 1);
}

/** sm_set_bitmap. */
export function setBitmap(data: Buffer, entry: number, value: number): void {
  const { byte, shift } = pairAt(entry);
  let v = data[byte]! & ~(3 << shift);
  if (value & 2) v |= 1 << shift;
  if (value & 1) v |= 1 << (shift + 1);
  data[byte] = v;
}

/** dm_bitmap_word_used: every entry of the 64-bit word holding `entry` is non-zero. */
function wordUsed(data: Buffer, entry: number): boolean {
  const at = BITMAP_HEADER + 8 * Math.floor(entry / ENTRIES_PER_WORD);
  for (let i = 0; i < 8; i++) {
    const v = data[at + i]!;
    for (let s = 0; s < 8; s += 2) if (((v >> s) & 3) === 0) return false;
  }
  return true;
}

/** sm_find_free: the first entry in [begin, end) with count 0, skipping full words; undefined if none. */
export function findFreeInBitmap(data: Buffer, begin: number, end: number): number | undefined {
  for (let e = begin; e < end; ) {
    if (e % ENTRIES_PER_WORD === 0 && wordUsed(data, e)) {
      e += ENTRIES_PER_WORD;
      continue;
    }
    if (lookupBitmap(data, e) === 0) return e;
    e++;
  }
  return undefined;
}
