// error: fails every read and write with EIO (drivers/md/dm-target.c io_err_*, 6.1: v1.5.0). It takes no
// discards (6.1 sets no num_discard_bios), so a device holding it refuses them with EOPNOTSUPP.
// Takes any arguments and ignores them, so it can replace any live table (`dmsetup remove -f`, LVM's
// disable_dev). Flushes are not sent to it in 6.1 (num_flush_bios is 0), so a flush succeeds.

import { IoError } from '../src/base/errors.js';
import type { Bio } from '../src/dm/bio.js';
import type { DmDevice, Target, TargetType } from '../src/dm/target.js';

class ErrorTarget implements Target {
  readonly maxIoSectors = 0;
  async map(bio: Bio): Promise<void> {
    if (bio.op === 'flush') return;
    throw new IoError(`error target: ${bio.op} of ${bio.count} sectors at target sector ${bio.sector} fails by design`);
  }

  status(): string {
    return '';
  }

  devices(): DmDevice[] {
    return [];
  }

  async destroy(): Promise<void> {}
}

export const errorTargetType: TargetType = {
  name: 'error',
  version: [1, 5, 0],
  async create(): Promise<Target> {
    return new ErrorTarget();
  },
};
