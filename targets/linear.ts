// linear: maps its range onto a device at an offset (drivers/md/dm-linear.c, 6.1: v1.4.0).
// Table `<dev> <offset>`; table status `<dev> <offset>`, info status empty.

import type { Bio } from '../src/dm/bio.js';
import { lookupDevice, parseSectorArg, TargetArgumentError } from '../src/dm/dm-args.js';
import { submitBio } from '../src/dm/submit-bio.js';
import type { DeviceArea, DmDevice, StatusType, Target, TargetContext, TargetType } from '../src/dm/target.js';
import { formatLinearTable } from './status.js';

class LinearTarget implements Target {
  readonly maxIoSectors = 0;
  /** num_discard_bios = 1: discards pass down, when the device below takes them. */
  readonly takesDiscards = true;
  private readonly dev: DmDevice;
  private readonly start: number;
  private readonly len: number;

  constructor(dev: DmDevice, start: number, len: number) {
    this.dev = dev;
    this.start = start;
    this.len = len;
  }

  map(bio: Bio): Promise<void> {
    return submitBio(this.dev.bdev, bio, this.start + bio.sector);
  }

  status(type: StatusType): string {
    return type === 'table' ? formatLinearTable({ device: this.dev.name, offset: this.start }) : '';
  }

  devices(): DmDevice[] {
    return [this.dev];
  }

  deviceAreas(): DeviceArea[] {
    return [{ device: this.dev, start: this.start, len: this.len }];
  }

  async destroy(): Promise<void> {}
}

export const linearTargetType: TargetType = {
  name: 'linear',
  version: [1, 4, 0],
  async create(ctx: TargetContext, args: string[]): Promise<Target> {
    if (args.length !== 2) throw new TargetArgumentError('Invalid argument count');
    const start = parseSectorArg(args[1]);
    if (start === undefined) throw new TargetArgumentError('Invalid device sector', 1);
    const dev = await lookupDevice(ctx, args, 0);
    return new LinearTarget(dev, start, ctx.len);
  },
};
