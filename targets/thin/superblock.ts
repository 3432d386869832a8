// The thin-pool superblock (dm-thin-metadata.c: struct thin_disk_superblock, sb_validator), block 0 of the
// metadata device: the roots of the mapping and device-details trees and of both space maps, the snapshot
// time counter, the user's transaction id, the held metadata snapshot and the needs_check flag.

import { CorruptMetadataError } from '../../src/base/errors.js';
import type { BlockValidator } from '../../src/persistent-data/block-manager.js';
import { readLe64, writeLe64 } from '../../src/persistent-data/btree-node.js';
import { blockChecksum } from '../../src/persistent-data/checksum.js';
import { SM_ROOT_SIZE } from '../../src/persistent-data/sm-root.js';

export const THIN_SUPERBLOCK_LOCATION = 0;
const THIN_SUPERBLOCK_MAGIC = 27022010;
export const THIN_VERSION = 2;
const THIN_METADATA_BLOCK_SECTORS = 8;
export const NEEDS_CHECK_FLAG = 1;
const SUPERBLOCK_CSUM_XOR = 160774;

/** Offsets of struct thin_disk_superblock. */
const OFF = {
  csum: 0,
  flags: 4,
  blocknr: 8,
  magic: 32,
  version: 40,
  time: 44,
  transId: 48,
  heldRoot: 56,
  dataSmRoot: 64,
  metadataSmRoot: 192,
  mappingRoot: 320,
  detailsRoot: 328,
  dataBlockSize: 336,
  metadataBlockSize: 340,
  metadataNrBlocks: 344,
  compatFlags: 352,
  compatRoFlags: 356,
  incompatFlags: 360,
} as const;

export interface Superblock {
  flags: number;
  version: number;
  time: number;
  transId: bigint;
  heldRoot: number;
  dataSmRoot: Buffer;
  metadataSmRoot: Buffer;
  mappingRoot: number;
  detailsRoot: number;
  dataBlockSize: number;
  metadataNrBlocks: number;
  compatFlags: number;
  compatRoFlags: number;
  incompatFlags: number;
}

/** sb_validator: location, magic, then checksum, with the kernel's messages. */
export const superblockValidator: BlockValidator = {
  name: 'superblock',
  prepareForWrite(data, location) {
    writeLe64(data, OFF.blocknr, location);
    data.writeUInt32LE(blockChecksum(data, SUPERBLOCK_CSUM_XOR), OFF.csum);
  },
  check(data, location) {
    const blocknr = readLe64(data, OFF.blocknr);
    if (blocknr !== location) throw new CorruptMetadataError(`sb_check failed: blocknr ${blocknr}: wanted ${location}`);
    const magic = readLe64(data, OFF.magic);
    if (magic !== THIN_SUPERBLOCK_MAGIC)
      throw new CorruptMetadataError(`sb_check failed: magic ${magic}: wanted ${THIN_SUPERBLOCK_MAGIC}`);
    const csum = blockChecksum(data, SUPERBLOCK_CSUM_XOR);
    const disk = data.readUInt32LE(OFF.csum);
    if (csum !== disk) throw new CorruptMetadataError(`sb_check failed: csum ${csum}: wanted ${disk}`);
  },
};

export function decodeSuperblock(data: Buffer): Superblock {
  return {
    flags: data.readUInt32LE(OFF.flags),
    version: data.readUInt32LE(OFF.version),
    time: data.readUInt32LE(OFF.time),
    transId: data.readBigUInt64LE(OFF.transId),
    heldRoot: readLe64(data, OFF.heldRoot),
    dataSmRoot: Buffer.from(data.subarray(OFF.dataSmRoot, OFF.dataSmRoot + SM_ROOT_SIZE)),
    metadataSmRoot: Buffer.from(data.subarray(OFF.metadataSmRoot, OFF.metadataSmRoot + SM_ROOT_SIZE)),
    mappingRoot: readLe64(data, OFF.mappingRoot),
    detailsRoot: readLe64(data, OFF.detailsRoot),
    dataBlockSize: data.readUInt32LE(OFF.dataBlockSize),
    metadataNrBlocks: readLe64(data, OFF.metadataNrBlocks),
    compatFlags: data.readUInt32LE(OFF.compatFlags),
    compatRoFlags: data.readUInt32LE(OFF.compatRoFlags),
    incompatFlags: data.readUInt32LE(OFF.incompatFlags),
  };
}

/** Writes every field (the uuid stays zero, as 6.1 never sets it; blocknr and csum come at write time). */
export function encodeSuperblock(sb: Superblock, data: Buffer): void {
  data.writeUInt32LE(sb.flags, OFF.flags);
  writeLe64(data, OFF.magic, THIN_SUPERBLOCK_MAGIC);
  data.writeUInt32LE(sb.version, OFF.version);
  data.writeUInt32LE(sb.time, OFF.time);
  data.writeBigUInt64LE(sb.transId, OFF.transId);
  writeLe64(data, OFF.heldRoot, sb.heldRoot);
  data.fill(0, OFF.dataSmRoot, OFF.mappingRoot);
  sb.dataSmRoot.copy(data, OFF.dataSmRoot);
  sb.metadataSmRoot.copy(data, OFF.metadataSmRoot);
  writeLe64(data, OFF.mappingRoot, sb.mappingRoot);
  writeLe64(data, OFF.detailsRoot, sb.detailsRoot);
  data.writeUInt32LE(sb.dataBlockSize, OFF.dataBlockSize);
  data.writeUInt32LE(THIN_METADATA_BLOCK_SECTORS, OFF.metadataBlockSize);
  writeLe64(data, OFF.metadataNrBlocks, sb.metadataNrBlocks);
  data.writeUInt32LE(sb.compatFlags, OFF.compatFlags);
  data.writeUInt32LE(sb.compatRoFlags, OFF.compatRoFlags);
  data.writeUInt32LE(sb.incompatFlags, OFF.incompatFlags);
}

/** The held root copy has both space-map roots wiped (it is not a live superblock). */
export function wipeSmRoots(data: Buffer): void {
  data.fill(0, OFF.dataSmRoot, OFF.mappingRoot);
}

export function mappingAndDetailsRoots(data: Buffer): { mappingRoot: number; detailsRoot: number } {
  return { mappingRoot: readLe64(data, OFF.mappingRoot), detailsRoot: readLe64(data, OFF.detailsRoot) };
}
