// DiskLog: the persistent dirty log ("disk", drivers/md/dm-log.c disk_*), byte for byte the kernel's format:
// a 16-byte little-endian header at byte 0 (le32 magic 0x4D695272 "MiRr", le32 version 2, le64 nr_regions),
// the clean bits from byte 1024 (LOG_OFFSET = 2 sectors), one I/O buffer of roundup(1024 + bitset, 512)
// bytes that every write rewrites whole from sector 0. Bytes the kernel does not define (16..1023 and
// after the bitset) keep whatever the device held, because the buffer is read from the device at resume.

import { IoError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import { SYNC_IO_FLAGS } from '../../src/dm/bio-flags.js';
import { submitBio } from '../../src/dm/submit-bio.js';
import type { DmDevice } from '../../src/dm/target.js';
import { CoreLog } from './core-log.js';
import type { DirtyLogOwner, LogArgs } from './dirty-log.js';
import { RegionBitset } from './region-bitset.js';
import type { LogHealth, MirrorLogStatus, MirrorLogTable } from './status.js';

export const MIRROR_MAGIC = 0x4d695272;
export const MIRROR_DISK_VERSION = 2;
/** Byte offset of the clean bits (LOG_OFFSET sectors). */
export const LOG_BITS_OFFSET = 2 * SECTOR_SIZE;

/** Size of the log's I/O buffer for a mirror with regionCount regions (512-byte logical blocks). */
export function diskLogBufferSize(regionCount: number): number {
  const raw = LOG_BITS_OFFSET + RegionBitset.byteSize(regionCount);
  return Math.ceil(raw / SECTOR_SIZE) * SECTOR_SIZE;
}

export class DiskLog extends CoreLog {
  override get typeName(): 'core' | 'disk' {
    return 'disk';
  }
  readonly logDev: DmDevice;
  private readonly buffer: Buffer;
  private logDevFailed = false;
  private logDevFlushFailed = false;
  /** The header as read (or freshly made) at resume; nr_regions as a bigint since LVM writes 2^64-1. */
  private header = { magic: MIRROR_MAGIC, version: MIRROR_DISK_VERSION, nrRegions: 0n };

  /** Fails like the kernel's ctr when the device cannot hold the buffer. */
  static create(owner: DirtyLogOwner, args: LogArgs, logDev: DmDevice): DiskLog {
    const regionCount = Math.ceil(owner.targetLen / args.regionSize);
    const size = diskLogBufferSize(regionCount);
    if (size > logDev.bdev.sizeSectors * SECTOR_SIZE) {
      throw new IoError(`log device ${logDev.name} too small: need ${size} bytes`);
    }
    return new DiskLog(owner, args, logDev, Buffer.alloc(size));
  }

  private constructor(owner: DirtyLogOwner, args: LogArgs, logDev: DmDevice, buffer: Buffer) {
    const regionCount = Math.ceil(owner.targetLen / args.regionSize);
    super(
      owner,
      args,
      new RegionBitset(buffer.subarray(LOG_BITS_OFFSET, LOG_BITS_OFFSET + RegionBitset.byteSize(regionCount))),
    );
    this.logDev = logDev;
    this.buffer = buffer;
  }

  /** disk_resume: read the log, start a fresh header if asked to or if it is not a log, fix up new bits, write it back. */
  override async resume(): Promise<void> {
    try {
      await this.readHeader();
    } catch {
      // Unreadable or incompatible: every region is out of sync (header nr_regions 0) and the log is failed.
      this.failLogDevice();
      this.header.nrRegions = 0n;
    }
    const first = this.header.nrRegions < BigInt(this.regionCount) ? Number(this.header.nrRegions) : this.regionCount;
    for (let r = first; r < this.regionCount; r++) {
      if (this.sync === 'nosync') this.setBit(this.cleanBits, r);
      else this.clearBit(this.cleanBits, r);
    }
    for (let r = this.regionCount; r % 64 !== 0; r++) this.clearBit(this.cleanBits, r);
    this.syncBits.copyFrom(this.cleanBits);
    this.syncCount = this.cleanBits.popcount();
    this.syncSearch = 0;
    this.header.nrRegions = BigInt(this.regionCount);
    this.headerToBuffer();
    try {
      await this.writeHeader();
      try {
        await this.logDev.bdev.flush();
      } catch (e) {
        this.logDevFlushFailed = true;
        throw e;
      }
    } catch {
      this.failLogDevice();
    }
  }

  override async postsuspend(): Promise<void> {
    try {
      await this.flush();
    } catch {
      // The kernel warns "log postsuspend failed" and carries on; the log already shows D or F.
    }
  }

  /** rw_header: a sync dm_io write of the header and bitmap, so the bio carries REQ_SYNC. */
  private writeHeader(): Promise<void> {
    const count = this.buffer.length / SECTOR_SIZE;
    const bio = { op: 'write', sector: 0, count, buf: this.buffer, flags: SYNC_IO_FLAGS } as const;
    return submitBio(this.logDev.bdev, bio, 0);
  }

  /** disk_flush: nothing if no bit changed; legs flushed before clean bits go out; the log device flushed after dirty ones. */
  override async flush(): Promise<void> {
    if (!this.touchedCleaned && !this.touchedDirtied) return;
    if (this.touchedCleaned && !(await this.owner.flushLegs())) {
      // Which regions are clean cannot be known any more: mark them all dirty.
      this.flushFailed = true;
      for (let r = 0; r < this.regionCount; r++) this.clearBit(this.cleanBits, r);
    }
    try {
      await this.writeHeader();
    } catch (e) {
      this.failLogDevice();
      throw new IoError(`mirror disk log ${this.logDev.name}: write failed: ${(e as Error).message}`);
    }
    if (this.touchedDirtied) {
      try {
        await this.logDev.bdev.flush();
      } catch (e) {
        this.logDevFlushFailed = true;
        this.failLogDevice();
        throw new IoError(`mirror disk log ${this.logDev.name}: flush failed: ${(e as Error).message}`);
      }
      this.touchedDirtied = false;
    }
    this.touchedCleaned = false;
  }

  override statusFields(): MirrorLogStatus {
    return { type: 'disk', device: this.logDev.name, health: this.healthChar() };
  }

  override tableFields(): MirrorLogTable {
    return { type: 'disk', device: this.logDev.name, regionSectors: this.regionSize, sync: this.sync };
  }

  /** A: alive; D: an I/O to the log failed; F: a flush of the log device failed. */
  healthChar(): LogHealth {
    return this.logDevFlushFailed ? 'F' : this.logDevFailed ? 'D' : 'A';
  }

  /** The log's buffer as it is on the log device now (the inspector shows it next to the in-core bits). */
  async readOnDisk(): Promise<Buffer> {
    const buf = Buffer.alloc(this.buffer.length);
    await this.logDev.bdev.read(0, buf);
    return buf;
  }

  override devices(): DmDevice[] {
    return [this.logDev];
  }

  private async readHeader(): Promise<void> {
    await this.logDev.bdev.read(0, this.buffer);
    this.header = {
      magic: this.buffer.readUInt32LE(0),
      version: this.buffer.readUInt32LE(4),
      nrRegions: this.buffer.readBigUInt64LE(8),
    };
    if (this.sync !== 'default' || this.header.magic !== MIRROR_MAGIC) {
      this.header = { magic: MIRROR_MAGIC, version: MIRROR_DISK_VERSION, nrRegions: 0n };
    }
    if (this.header.version === 1) this.header.version = MIRROR_DISK_VERSION; // little-endian hosts accept version 1
    if (this.header.version !== MIRROR_DISK_VERSION) {
      throw new IoError(`mirror disk log ${this.logDev.name}: incompatible disk log version ${this.header.version}`);
    }
  }

  private headerToBuffer(): void {
    this.buffer.writeUInt32LE(this.header.magic, 0);
    this.buffer.writeUInt32LE(this.header.version, 4);
    this.buffer.writeBigUInt64LE(this.header.nrRegions, 8);
  }

  private failLogDevice(): void {
    if (this.logDevFailed) return;
    this.logDevFailed = true;
    this.owner.raiseEvent();
  }
}
