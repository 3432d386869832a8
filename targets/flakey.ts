// flakey: a device that is up for <up> seconds and then down for <down> seconds, over and over, counted from
// table load (drivers/md/dm-flakey.c as in 6.1, v1.5.0). While down, with no features every read and write
// fails; drop_writes completes writes without writing; error_writes fails writes; corrupt_bio_byte replaces
// the Nth byte of matching writes. Reads pass while down when any feature is set.
//
// Where 6.1 differs from later kernels (and the docs): the only features are drop_writes, error_writes and
// corrupt_bio_byte; `corrupt_bio_byte ... r` is accepted but corrupts nothing, because 6.1 corrupts reads at
// end_io when the bio iterator is already exhausted (fixed upstream in 2025); the oracle confirms it.
// dmsim corrupts a private copy of a write's data; 6.1 scribbles on the writer's own page.

import type { Clock } from '../src/base/clock.js';
import { IoError } from '../src/base/errors.js';
import type { Bio } from '../src/dm/bio.js';
import { bioOpf } from '../src/dm/bio-flags.js';
import { ArgSet, lookupDevice, parseSectorArg, TargetArgumentError } from '../src/dm/dm-args.js';
import { bioBuffer, submitBio } from '../src/dm/submit-bio.js';
import type { DeviceArea, DmDevice, StatusType, Target, TargetContext, TargetType } from '../src/dm/target.js';
import { type FlakeyCorruption, formatFlakeyTable } from './flakey-status.js';

const UINT_MAX = 4294967295;

interface FlakeyConfig {
  start: number;
  up: number;
  down: number;
  dropWrites: boolean;
  errorWrites: boolean;
  corrupt?: FlakeyCorruption;
}

class FlakeyTarget implements Target {
  readonly maxIoSectors = 0;
  /** num_discard_bios = 1: discards pass down, when the device below takes them. */
  readonly takesDiscards = true;
  private readonly dev: DmDevice;
  private readonly cfg: FlakeyConfig;
  private readonly len: number;
  private readonly clock: Clock;
  private readonly loadedAt: number;

  constructor(ctx: TargetContext, dev: DmDevice, cfg: FlakeyConfig) {
    this.dev = dev;
    this.cfg = cfg;
    this.len = ctx.len;
    this.clock = ctx.clock;
    // fc->start_time = jiffies in the constructor: the cycle starts when the table is loaded.
    this.loadedAt = ctx.clock.now();
  }

  /** Down when (whole seconds since load) mod (up + down) >= up. */
  isDown(): boolean {
    const elapsed = Math.floor((this.clock.now() - this.loadedAt) / 1000);
    return elapsed % (this.cfg.up + this.cfg.down) >= this.cfg.up;
  }

  async map(bio: Bio): Promise<void> {
    if (!this.isDown()) return submitBio(this.dev.bdev, bio, this.cfg.start + bio.sector);
    const { dropWrites, errorWrites, corrupt } = this.cfg;
    if (bio.op === 'read') {
      if (!corrupt && !dropWrites && !errorWrites) throw this.downError(bio);
      return submitBio(this.dev.bdev, bio, this.cfg.start + bio.sector);
    }
    // Everything else is a WRITE to the kernel (bio_data_dir), flushes and discards included.
    if (dropWrites) return;
    if (errorWrites) throw this.downError(bio);
    if (corrupt) {
      const data = corrupt.direction === 'w' && this.matches(bio) ? this.corrupted(bio, corrupt) : bio;
      return submitBio(this.dev.bdev, data, this.cfg.start + bio.sector);
    }
    throw this.downError(bio);
  }

  status(type: StatusType): string {
    if (type === 'info') return '';
    const { start, up, down, dropWrites, errorWrites, corrupt } = this.cfg;
    return formatFlakeyTable({
      device: this.dev.name,
      offset: start,
      upSeconds: up,
      downSeconds: down,
      dropWrites,
      errorWrites,
      ...(corrupt ? { corruptBioByte: corrupt } : {}),
    });
  }

  devices(): DmDevice[] {
    return [this.dev];
  }

  deviceAreas(): DeviceArea[] {
    return [{ device: this.dev, start: this.cfg.start, len: this.len }];
  }

  async destroy(): Promise<void> {}

  private matches(bio: Bio): boolean {
    return (bioOpf(bio) & this.cfg.corrupt!.flags) >>> 0 === this.cfg.corrupt!.flags;
  }

  /** corrupt_bio_data: a copy of the bio with byte N set to the value (bios without data, or too short, unchanged). */
  private corrupted(bio: Bio, c: FlakeyCorruption): Bio {
    if (bio.op !== 'write' || bio.count * 512 < c.byte) return bio;
    const buf = Buffer.from(bioBuffer(bio));
    buf[c.byte - 1] = c.value;
    return { ...bio, buf };
  }

  private downError(bio: Bio): IoError {
    const features = this.cfg.errorWrites ? ' (error_writes)' : '';
    return new IoError(
      `flakey target is down${features}: ${bio.op} of ${bio.count} sectors at target sector ${bio.sector} refused`,
    );
  }
}

/** parse_features: `<#feature args> <feature>...`, as 6.1 accepts them. */
function parseFeatures(as: ArgSet, cfg: FlakeyConfig): void {
  if (as.remaining === 0) return;
  let argc = as.readGroupCount({ min: 0, max: 6, error: 'Invalid number of feature args' });
  while (argc !== 0) {
    const at = as.index;
    const name = as.shift()?.toLowerCase();
    argc--;
    if (name === undefined) throw new TargetArgumentError('Insufficient feature arguments', at);
    if (name === 'drop_writes') {
      if (cfg.dropWrites) throw new TargetArgumentError('Feature drop_writes duplicated', at);
      cfg.dropWrites = true;
      if (cfg.errorWrites) throw new TargetArgumentError('Feature drop_writes conflicts with feature error_writes', at);
    } else if (name === 'error_writes') {
      if (cfg.errorWrites) throw new TargetArgumentError('Feature error_writes duplicated', at);
      cfg.errorWrites = true;
      if (cfg.dropWrites) throw new TargetArgumentError('Feature error_writes conflicts with feature drop_writes', at);
    } else if (name === 'corrupt_bio_byte') {
      if (argc === 0) throw new TargetArgumentError('Feature corrupt_bio_byte requires parameters', at);
      const byte = as.readUint({ min: 1, max: UINT_MAX, error: 'Invalid corrupt bio byte' });
      argc--;
      const dirAt = as.index;
      const dir = as.shift()?.toLowerCase();
      if (dir !== 'r' && dir !== 'w') throw new TargetArgumentError('Invalid corrupt bio direction (r or w)', dirAt);
      argc--;
      const value = as.readUint({ min: 0, max: 255, error: 'Invalid corrupt value to write into bio byte (0-255)' });
      argc--;
      const flags = as.readUint({ min: 0, max: UINT_MAX, error: 'Invalid corrupt bio flags mask' });
      argc--;
      cfg.corrupt = { byte, direction: dir, value, flags };
    } else {
      throw new TargetArgumentError('Unrecognised flakey feature requested', at);
    }
  }
  if (cfg.dropWrites && cfg.corrupt?.direction === 'w') {
    throw new TargetArgumentError('drop_writes is incompatible with corrupt_bio_byte with the WRITE flag set');
  }
  if (cfg.errorWrites && cfg.corrupt?.direction === 'w') {
    throw new TargetArgumentError('error_writes is incompatible with corrupt_bio_byte with the WRITE flag set');
  }
}

export const flakeyTargetType: TargetType = {
  name: 'flakey',
  version: [1, 5, 0],
  async create(ctx: TargetContext, args: string[]): Promise<Target> {
    if (args.length < 4) throw new TargetArgumentError('Invalid argument count');
    const start = parseSectorArg(args[1]);
    if (start === undefined) throw new TargetArgumentError('Invalid device sector', 1);
    const as = new ArgSet(args, 2);
    // 6.1 reads both intervals with the same dm_arg, so a bad down interval is reported as "Invalid up interval".
    const interval = { min: 0, max: UINT_MAX, error: 'Invalid up interval' };
    const up = as.readUint(interval);
    const down = as.readUint(interval);
    const total = (up + down) % 4294967296;
    if (total === 0) throw new TargetArgumentError('Total (up + down) interval is zero', 3);
    if (total < up) throw new TargetArgumentError('Interval overflow', 3);
    const cfg: FlakeyConfig = { start, up, down, dropWrites: false, errorWrites: false };
    parseFeatures(as, cfg);
    const dev = await lookupDevice(ctx, args, 0);
    return new FlakeyTarget(ctx, dev, cfg);
  },
};
