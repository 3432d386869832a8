// BlockDevice: what every layer reads and writes. The dm core's bdev, in sectors of 512 bytes.

import { IoError, ReadOnlyError } from '../base/errors.js';
import { SECTOR_SIZE } from '../base/size.js';

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
}
