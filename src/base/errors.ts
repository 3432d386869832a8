// DmError: every failure dmsim reports carries an errno-style code and a sentence a person can act on.
// The codes are the ones the kernel's device-mapper returns for the same situations.

/** Every code a DmError may carry. */
export const DM_ERROR_CODES = [
  'EINVAL',
  'EIO',
  'ENOSPC',
  'EBUSY',
  'ENXIO',
  'ENODEV',
  'EEXIST',
  'ENOENT',
  'EPERM',
  'EROFS',
  'EOVERFLOW',
  'ETIMEDOUT',
  'ENODATA',
  'EOPNOTSUPP',
  'EILSEQ',
  'ENOMEM',
] as const;

export type DmErrorCode = (typeof DM_ERROR_CODES)[number];

/** True for one of DM_ERROR_CODES (a code read from a file or a socket). */
export function isDmErrorCode(x: unknown): x is DmErrorCode {
  return (DM_ERROR_CODES as readonly unknown[]).includes(x);
}

export class DmError extends Error {
  readonly code: DmErrorCode;
  constructor(code: DmErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad argument, table or request shape (the kernel's -EINVAL). */
export class InvalidArgumentError extends DmError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}

/** An I/O failure on a device, or a request the device cannot serve (-EIO). */
export class IoError extends DmError {
  constructor(message: string) {
    super('EIO', message);
  }
}

/** No room left: a full COW store, an exhausted allocation (-ENOSPC). */
export class NoSpaceError extends DmError {
  constructor(message: string) {
    super('ENOSPC', message);
  }
}

/** The device is in use: open, held by a table, or claimed by another process (-EBUSY). */
export class BusyError extends DmError {
  constructor(message: string) {
    super('EBUSY', message);
  }
}

/** No such device (-ENXIO), e.g. a mapped-device name that does not exist. */
export class NoDeviceError extends DmError {
  constructor(message: string) {
    super('ENXIO', message);
  }
}

/** A name that is already taken (-EEXIST). */
export class ExistsError extends DmError {
  constructor(message: string) {
    super('EEXIST', message);
  }
}

/** A write to a read-only device (-EROFS). */
export class ReadOnlyError extends DmError {
  constructor(message: string) {
    super('EROFS', message);
  }
}

/** More than a limit allows: a table with too many targets, a reply too long to send (-EOVERFLOW). */
export class OverflowError extends DmError {
  constructor(message: string) {
    super('EOVERFLOW', message);
  }
}

/** A wait ran out of time (-ETIMEDOUT); the message says what was awaited and what was seen last. */
export class TimeoutError extends DmError {
  constructor(message: string) {
    super('ETIMEDOUT', message);
  }
}

/** A lookup found nothing: no such thin device, no metadata snapshot (-ENODATA). */
export class NoDataError extends DmError {
  constructor(message: string) {
    super('ENODATA', message);
  }
}

/**
 * A request the device does not support (-EOPNOTSUPP, "Operation not supported"): the block layer's answer to a
 * discard sent to a device whose queue takes none (submit_bio_noacct, blk_ioctl_discard), or pool messages while
 * a thin pool is read-only.
 */
export class NotSupportedError extends DmError {
  constructor(message: string) {
    super('EOPNOTSUPP', message);
  }
}

/** On-disk metadata that fails its checks: a wrong checksum, block number or magic (-EILSEQ). */
export class CorruptMetadataError extends DmError {
  constructor(message: string) {
    super('EILSEQ', message);
  }
}

export function isDmError(e: unknown): e is DmError {
  return e instanceof DmError;
}
