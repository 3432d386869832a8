// zero: reads return zeros, writes are dropped (drivers/md/dm-zero.c, 6.1: v1.1.0). No arguments.
// In 6.1 the target takes no discards (num_discard_bios is 0), so a device holding it refuses them with
// EOPNOTSUPP; flushes never reach it, so they succeed.

import { IoError } from '../src/base/errors.js';
import type { Bio } from '../src/dm/bio.js';
import { TargetArgumentError } from '../src/dm/dm-args.js';
import { bioBuffer } from '../src/dm/submit-bio.js';
import type { DmDevice, Target, TargetContext, TargetType } from '../src/dm/target.js';

class ZeroTarget implements Target {
  readonly maxIoSectors = 0;

  async map(bio: Bio): Promise<void> {
    switch (bio.op) {
      case 'read':
        bioBuffer(bio).fill(0);
        return;
      case 'write':
      case 'flush':
        return;
      default:
        throw new IoError(`zero target: ${bio.op} is not supported`);
    }
  }

  status(): string {
    return '';
  }

  devices(): DmDevice[] {
    return [];
  }

  async destroy(): Promise<void> {}
}

export const zeroTargetType: TargetType = {
  name: 'zero',
  version: [1, 1, 0],
  async create(_ctx: TargetContext, args: string[]): Promise<Target> {
    if (args.length !== 0) throw new TargetArgumentError('No arguments required', 0);
    return new ZeroTarget();
  },
};
