// BlockDevice: what every layer reads and writes. The dm core's bdev, in sectors of 512 bytes.

import { IoError, NotSupportedError, ReadOnlyError } from '../base/errors.js';
import { SECTOR_SIZE } from '../base/size.js';

/** A queue's discard limits, as sysfs shows them in queue/discard_max_bytes, discard_max_hw_bytes, discard_granularity. */
export interface DiscardLimits {
  /** max_discard_sectors: the most one discard may cover. 0: the device takes no discards at all. */
  readonly maxSectors: number;
  /** max_hw_discard_sectors: what the hardware (or the devices below) allow. */
  readonly maxHwSectors: number;
  /** discard_granularity, in bytes. */
  readonly granularity: number;
}

/** A queue without discard support (blk_set_default_limits). */
export const NO_DISCARDS: DiscardLimits = { maxSectors: 0, maxHwSectors: 0, granularity: 0 };

/**
 * What a disk of the kernel oracle reports: qemu's virtio-blk (max-discard-sectors 4194303, 512-byte sectors).
 * A file stands for such a disk, so a table over files gets the limits the same table over /dev/vdX gets.
 */
export const DISK_DISCARDS: DiscardLimits = { maxSectors: 4194303, maxHwSectors: 4194303, granularity: 512 };

export interface BlockDevice {
  /** A name for messages and status lines: the path or mapped-device name it was opened by. */
  readonly name: string;
  /** Size in 512-byte sectors. */
  readonly sizeSectors: number;
  readonly readOnly: boolean;
  /**
   * Whether the device has a volatile write cache (the queue's QUEUE_FLAG_WC). false: writes are durable when
   * they complete, and the block layer completes an empty flush at once and drops PREFLUSH/FUA from writes, so
   * a flush never reaches the driver (submit_bio_noacct). Absent: a write-back cache; flushes are delivered.
   */
  readonly writeCache?: boolean;
  /** Reads buf.length bytes (a multiple of 512) starting at `sector` into buf. */
  read(sector: number, buf: Buffer): Promise<void>;
  /** Writes buf (a multiple of 512 bytes) at `sector`. */
  write(sector: number, buf: Buffer): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  /**
   * Discard support and limits; absent: a disk's (DISK_DISCARDS). A device whose maxSectors is 0 refuses every
   * discard with EOPNOTSUPP.
   */
  readonly discardLimits?: DiscardLimits;
  /** Tells the device the range's contents are no longer needed (reads may then return zeros). */
  discard(sector: number, count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Checks a request before any byte moves: a whole number of sectors, inside the device.
 * The error names the device and the sector, as the block layer's "attempt to access beyond end of device" does.
 */
export function checkRequest(dev: BlockDevice, op: 'read' | 'write' | 'discard', sector: number, bytes: number): void {
  if (!Number.isSafeInteger(sector) || sector < 0) {
    throw new IoError(`${dev.name}: ${op} at sector ${sector}: not a valid sector number`);
  }
  if (bytes % SECTOR_SIZE !== 0) {
    throw new IoError(
      `${dev.name}: ${op} at sector ${sector}: length ${bytes} bytes is not a multiple of ${SECTOR_SIZE}`,
    );
  }
  const count = bytes / SECTOR_SIZE;
  if (sector + count > dev.sizeSectors) {
    throw new IoError(
      `${dev.name}: ${op} of ${count} sectors at sector ${sector} is beyond the end of the device (${dev.sizeSectors} sectors)`,
    );
  }
  if (op !== 'read' && dev.readOnly) {
    throw new ReadOnlyError(`${dev.name}: ${op} at sector ${sector}: device is read-only`);
  }
  if (op === 'discard' && !takesDiscards(dev)) {
    throw new NotSupportedError(`${dev.name}: discard at sector ${sector}: the device does not support discards`);
  }
}

/** The device's discard limits (a disk's when it states none). */
export function discardLimitsOf(dev: Pick<BlockDevice, 'discardLimits'>): DiscardLimits {
  return dev.discardLimits ?? DISK_DISCARDS;
}

/** Whether the device takes discards at all (bdev_max_discard_sectors() != 0). */
export function takesDiscards(dev: Pick<BlockDevice, 'discardLimits'>): boolean {
  return discardLimitsOf(dev).maxSectors > 0;
}
