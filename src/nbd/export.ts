// NbdExport: one mapped device offered over NBD under its name, and what the handshake tells clients about
// it (proto.md "Transmission flags" and "Block size constraints").

import { SECTOR_SIZE } from '../base/size.js';
import { type BlockDevice, takesDiscards } from '../block/block-device.js';
import {
  type BlockSizes,
  TFLAG_CAN_MULTI_CONN,
  TFLAG_HAS_FLAGS,
  TFLAG_READ_ONLY,
  TFLAG_SEND_FLUSH,
  TFLAG_SEND_FUA,
  TFLAG_SEND_TRIM,
  TFLAG_SEND_WRITE_ZEROES,
} from './codec.js';

/** The part of an opened mapped device the NBD server uses. */
export type NbdBackingDevice = Pick<
  BlockDevice,
  'sizeSectors' | 'readOnly' | 'discardLimits' | 'read' | 'write' | 'flush' | 'discard' | 'close'
>;

export interface NbdExport {
  readonly name: string;
  readonly device: NbdBackingDevice;
  /** Exported read-only (--read-only), whatever the device allows. */
  readonly readOnly: boolean;
}

/** Most bytes one READ or WRITE may move: proto.md's default maximum payload, which every client honours. */
export const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;

/**
 * A mapped device is addressed in 512-byte sectors, so requests must be sector-aligned (clients that asked
 * for NBD_INFO_BLOCK_SIZE align by themselves; others get EINVAL for an unaligned request).
 */
export const BLOCK_SIZES: BlockSizes = { minimum: SECTOR_SIZE, preferred: 4096, maximum: MAX_PAYLOAD_BYTES };

export function isReadOnly(exp: NbdExport): boolean {
  return exp.readOnly || exp.device.readOnly;
}

export function sizeBytes(exp: NbdExport): number {
  return exp.device.sizeSectors * SECTOR_SIZE;
}

/** Whether TRIM may be sent now: a writable export of a device that takes discards. */
export function takesTrim(exp: NbdExport): boolean {
  return !isReadOnly(exp) && takesDiscards(exp.device);
}

/**
 * What the export offers, as the device is when the client connects. FLUSH reaches the device itself, which
 * every connection shares, so a flush on one connection covers writes answered on any other: CAN_MULTI_CONN
 * holds. TRIM only when the device takes discards: a table of snapshot-origin, zero or error takes none.
 */
export function transmissionFlags(exp: NbdExport): number {
  const base = TFLAG_HAS_FLAGS | TFLAG_SEND_FLUSH | TFLAG_CAN_MULTI_CONN;
  if (isReadOnly(exp)) return base | TFLAG_READ_ONLY;
  return base | TFLAG_SEND_FUA | TFLAG_SEND_WRITE_ZEROES | (takesTrim(exp) ? TFLAG_SEND_TRIM : 0);
}
