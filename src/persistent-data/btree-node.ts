// One btree node as it lies in a 4096-byte block (dm-btree-internal.h: struct node_header, struct btree_node):
// a 32-byte header (csum, flags, blocknr, nr_entries, max_entries, value_size, padding), max_entries le64 keys,
// then max_entries values of value_size bytes. Internal nodes hold le64 child block numbers and key[i] is the
// lowest key under child i. The array moves here (insert_at, delete_at, shifts, copies) are the kernel's, so a
// slot past nr_entries keeps whatever it held before (the kernel never clears them either).

import { CorruptMetadataError } from '../base/errors.js';
import { METADATA_BLOCK_SIZE, saltedValidator } from './block-manager.js';

export const INTERNAL_NODE = 1;
export const LEAF_NODE = 2;
const HEADER_SIZE = 32;
const BTREE_CSUM_XOR = 121107;

/** calc_max_entries: as many entries as fit, rounded down to a multiple of 3 (so nodes split evenly in three). */
export function calcMaxEntries(valueSize: number): number {
  const n = Math.floor((METADATA_BLOCK_SIZE - HEADER_SIZE) / (8 + valueSize));
  return 3 * Math.floor(n / 3);
}

/** btree_node_validator (dm-btree-spine.c): salted checksum, then a header that makes sense. */
export const btreeNodeValidator = saltedValidator('btree_node', BTREE_CSUM_XOR, (data, location) => {
  const n = new BtreeNode(data);
  if (HEADER_SIZE + (8 + n.valueSize) * n.maxEntries > METADATA_BLOCK_SIZE)
    throw new CorruptMetadataError(`node_check failed: max_entries too large (block ${location})`);
  if (n.nrEntries > n.maxEntries)
    throw new CorruptMetadataError(`node_check failed: too many entries (block ${location})`);
  if (!(n.flags & (INTERNAL_NODE | LEAF_NODE)))
    throw new CorruptMetadataError(`node_check failed: node is neither INTERNAL or LEAF (block ${location})`);
});

/** Reads a le64 as a number (keys and block numbers stay below 2^53 in every tree dmsim builds). */
export function readLe64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 0x100000000;
}

export function writeLe64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % 0x100000000, offset);
  buf.writeUInt32LE(Math.floor(value / 0x100000000), offset + 4);
}

export class BtreeNode {
  readonly data: Buffer;

  constructor(data: Buffer) {
    this.data = data;
  }

  get flags(): number {
    return this.data.readUInt32LE(4);
  }
  set flags(v: number) {
    this.data.writeUInt32LE(v, 4);
  }
  get nrEntries(): number {
    return this.data.readUInt32LE(16);
  }
  set nrEntries(v: number) {
    this.data.writeUInt32LE(v, 16);
  }
  get maxEntries(): number {
    return this.data.readUInt32LE(20);
  }
  set maxEntries(v: number) {
    this.data.writeUInt32LE(v, 20);
  }
  get valueSize(): number {
    return this.data.readUInt32LE(24);
  }
  set valueSize(v: number) {
    this.data.writeUInt32LE(v, 24);
  }
  get isLeaf(): boolean {
    return (this.flags & LEAF_NODE) !== 0;
  }

  /** Writes an empty node's header (dm_btree_empty / a new sibling): the caller has zeroed or will fill it. */
  init(flags: number, valueSize: number, maxEntries = calcMaxEntries(valueSize)): void {
    this.flags = flags;
    this.nrEntries = 0;
    this.maxEntries = maxEntries;
    this.valueSize = valueSize;
  }

  key(i: number): number {
    return readLe64(this.data, HEADER_SIZE + 8 * i);
  }
  setKey(i: number, k: number): void {
    writeLe64(this.data, HEADER_SIZE + 8 * i, k);
  }

  valueOffset(i: number): number {
    return HEADER_SIZE + 8 * this.maxEntries + this.valueSize * i;
  }
  /** A copy of value i. */
  value(i: number): Buffer {
    const at = this.valueOffset(i);
    return Buffer.from(this.data.subarray(at, at + this.valueSize));
  }
  setValue(i: number, v: Buffer): void {
    v.copy(this.data, this.valueOffset(i), 0, this.valueSize);
  }
  value64(i: number): number {
    return readLe64(this.data, this.valueOffset(i));
  }
  setValue64(i: number, v: number): void {
    writeLe64(this.data, this.valueOffset(i), v);
  }

  /** lower_bound: the last entry whose key is <= key, or -1. */
  lowerBound(key: number): number {
    let lo = -1;
    let hi = this.nrEntries;
    while (hi - lo > 1) {
      const mid = lo + ((hi - lo) >> 1);
      const k = this.key(mid);
      if (k === key) return mid;
      if (k < key) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** insert_at: moves entries index.. up one and puts key/value at index. */
  insertAt(index: number, key: number, value: Buffer): void {
    const nr = this.nrEntries;
    if (index > nr || index >= this.maxEntries || nr >= this.maxEntries)
      throw new CorruptMetadataError('too many entries in btree node for insert');
    this.moveEntries(index + 1, index, nr - index);
    this.setKey(index, key);
    this.setValue(index, value);
    this.nrEntries = nr + 1;
  }

  /** delete_at: moves the entries after index down one. */
  deleteAt(index: number): void {
    const nr = this.nrEntries;
    this.moveEntries(index, index + 1, nr - index - 1);
    this.nrEntries = nr - 1;
  }

  /** memmove of `count` keys and values from slot `from` to slot `to` within this node. */
  moveEntries(to: number, from: number, count: number): void {
    if (count <= 0) return;
    this.data.copyWithin(HEADER_SIZE + 8 * to, HEADER_SIZE + 8 * from, HEADER_SIZE + 8 * (from + count));
    this.data.copyWithin(this.valueOffset(to), this.valueOffset(from), this.valueOffset(from + count));
  }
}

/** copy_entries: `count` keys and values from src slot srcAt to dest slot destAt. */
export function copyEntries(dest: BtreeNode, destAt: number, src: BtreeNode, srcAt: number, count: number): void {
  if (count <= 0) return;
  src.data.copy(dest.data, HEADER_SIZE + 8 * destAt, HEADER_SIZE + 8 * srcAt, HEADER_SIZE + 8 * (srcAt + count));
  src.data.copy(dest.data, dest.valueOffset(destAt), src.valueOffset(srcAt), src.valueOffset(srcAt + count));
}
