// BlockManager: 4096-byte metadata blocks over a block device, cached, with a validator per block type
// (dm-block-manager.c over dm-bufio). A block read from disk is checked (its own location, then its checksum);
// a dirty block gets its location and checksum filled in when it is written back (prepare_for_write), so every
// block on disk names where it lives.

import { CorruptMetadataError, IoError } from '../base/errors.js';
import type { BlockDevice } from '../block/block-device.js';
import { blockChecksum } from './checksum.js';

export const METADATA_BLOCK_SIZE = 4096;
export const SECTORS_PER_METADATA_BLOCK = 8;

/** struct dm_block_validator: fills in and checks a block type's header. */
export interface BlockValidator {
  readonly name: string;
  prepareForWrite(data: Buffer, location: number): void;
  /** Throws CorruptMetadataError when the block is not a valid block of this type at this location. */
  check(data: Buffer, location: number): void;
}

/**
 * The validator shape every persistent-data block shares: le32 csum at 0 (over bytes 4..4095, XOR `salt`) and
 * le64 blocknr at 8. `extra` adds a type's own checks after those two (btree nodes check their header).
 */
export function saltedValidator(
  name: string,
  salt: number,
  extra?: (data: Buffer, location: number) => void,
): BlockValidator {
  return {
    name,
    prepareForWrite(data, location) {
      data.writeBigUInt64LE(BigInt(location), 8);
      data.writeUInt32LE(blockChecksum(data, salt), 0);
    },
    check(data, location) {
      const blocknr = Number(data.readBigUInt64LE(8));
      if (blocknr !== location)
        throw new CorruptMetadataError(`${name} check failed: blocknr ${blocknr} != wanted ${location}`);
      const csum = blockChecksum(data, salt);
      const disk = data.readUInt32LE(0);
      if (csum !== disk) throw new CorruptMetadataError(`${name} check failed: csum ${csum} != wanted ${disk}`);
      extra?.(data, location);
    },
  };
}

interface CachedBlock {
  data: Buffer;
  dirty: boolean;
  /** The type it was last locked as: fills in its header when it is written. */
  validator: BlockValidator;
}

/** Clean blocks kept in memory before the cache drops them (dm-bufio's cache, bounded here by count). */
const CLEAN_CACHE_LIMIT = 16384;

export class BlockManager {
  dev: BlockDevice;
  /** Blocks the device holds (the kernel's dm_bm_nr_blocks). */
  nrBlocks: number;
  private readonly cache = new Map<number, CachedBlock>();

  constructor(dev: BlockDevice, nrBlocks: number) {
    this.dev = dev;
    this.nrBlocks = nrBlocks;
  }

  /** The same device through another handle (a reloaded table opened it again): later I/O uses that one. */
  rebind(dev: BlockDevice): void {
    this.dev = dev;
  }

  /** The device grew (a reloaded pool with a bigger metadata device). */
  grow(nrBlocks: number): void {
    this.nrBlocks = Math.max(this.nrBlocks, nrBlocks);
  }

  /** dm_bm_read_lock: the block's bytes, checked by `v` when they come from disk. Callers must not change them. */
  async readLock(b: number, v: BlockValidator): Promise<Buffer> {
    return (await this.get(b, v)).data;
  }

  /** dm_bm_write_lock: the block's bytes, to be changed in place; written back at the next flush. */
  async writeLock(b: number, v: BlockValidator): Promise<Buffer> {
    const c = await this.get(b, v);
    c.dirty = true;
    return c.data;
  }

  /** dm_bm_write_lock_zero: a block whose old contents do not matter, zeroed, without reading it. */
  writeLockZero(b: number, v: BlockValidator): Buffer {
    this.checkRange(b);
    const data = Buffer.alloc(METADATA_BLOCK_SIZE);
    this.cache.set(b, { data, dirty: true, validator: v });
    return data;
  }

  /**
   * dm_bm_flush: writes every dirty block (location and checksum filled in by its validator), then flushes the
   * device so that all of them are durable before anything that points at them.
   */
  async flush(): Promise<void> {
    const dirty = [...this.cache.entries()].filter(([, c]) => c.dirty).sort((x, y) => x[0] - y[0]);
    for (const [b, c] of dirty) {
      c.validator.prepareForWrite(c.data, b);
      await this.dev.write(b * SECTORS_PER_METADATA_BLOCK, c.data);
      c.dirty = false;
    }
    await this.dev.flush();
    if (this.cache.size > CLEAN_CACHE_LIMIT) this.cache.clear();
  }

  /** Forgets every change not yet written (the kernel drops its bufio client when it aborts a transaction). */
  discardChanges(): void {
    for (const [b, c] of this.cache) if (c.dirty) this.cache.delete(b);
  }

  private async get(b: number, v: BlockValidator): Promise<CachedBlock> {
    this.checkRange(b);
    let c = this.cache.get(b);
    if (!c) {
      const data = Buffer.alloc(METADATA_BLOCK_SIZE);
      await this.dev.read(b * SECTORS_PER_METADATA_BLOCK, data);
      try {
        v.check(data, b);
      } catch (e) {
        // dm_bm_validate_buffer's DMERR names the validator and the block: what thin_check and a person need.
        if (!(e instanceof CorruptMetadataError)) throw e;
        throw new CorruptMetadataError(
          `${this.dev.name}: ${v.name} validator check failed for block ${b} (${e.message}); run thin_check`,
        );
      }
      // Another caller may have read it meanwhile; theirs may already be dirty.
      c = this.cache.get(b) ?? { data, dirty: false, validator: v };
      this.cache.set(b, c);
    }
    c.validator = v;
    return c;
  }

  private checkRange(b: number): void {
    if (!Number.isSafeInteger(b) || b < 0 || b >= this.nrBlocks) {
      throw new IoError(`${this.dev.name}: metadata block ${b} is outside the device (${this.nrBlocks} blocks)`);
    }
  }
}
