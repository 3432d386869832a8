// struct disk_sm_root (dm-space-map-common.h): the 32 bytes a superblock keeps for each space map.

import { readLe64, writeLe64 } from './btree-node.js';

export interface SmRoot {
  nrBlocks: number;
  nrAllocated: number;
  bitmapRoot: number;
  refCountRoot: number;
}

export const SM_ROOT_SIZE = 32;

export function encodeSmRoot(r: SmRoot): Buffer {
  const buf = Buffer.alloc(SM_ROOT_SIZE);
  writeLe64(buf, 0, r.nrBlocks);
  writeLe64(buf, 8, r.nrAllocated);
  writeLe64(buf, 16, r.bitmapRoot);
  writeLe64(buf, 24, r.refCountRoot);
  return buf;
}

export function decodeSmRoot(buf: Buffer, at = 0): SmRoot {
  return {
    nrBlocks: readLe64(buf, at),
    nrAllocated: readLe64(buf, at + 8),
    bitmapRoot: readLe64(buf, at + 16),
    refCountRoot: readLe64(buf, at + 24),
  };
}
