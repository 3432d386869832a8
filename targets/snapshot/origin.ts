// SnapshotOrigin: the `snapshot-origin` target (mirrors origin_ctr/origin_map in drivers/md/dm-snap.c). Reads
// pass straight through; a write first makes every active snapshot of the device copy the old chunk, and is
// held until all those copies are committed. Writes are split at the smallest chunk size of the snapshots,
// computed at resume (the kernel's split_boundary).

import { SECTOR_SIZE } from '../../src/base/size.js';
import type { Bio } from '../../src/dm/bio.js';
import { TargetArgumentError } from '../../src/dm/dm-args.js';
import { submitBio } from '../../src/dm/submit-bio.js';
import type { DeviceArea, DmDevice, StatusType, Target, TargetType } from '../../src/dm/target.js';
import { type OriginRegistry, registryFor, settleAll } from './origin-registry.js';
import { formatOriginTable } from './status.js';

class SnapshotOrigin implements Target {
  private readonly dev: DmDevice;
  private readonly registry: OriginRegistry;
  private readonly len: number;
  private splitBoundary = 0;

  private constructor(dev: DmDevice, registry: OriginRegistry, len: number) {
    this.dev = dev;
    this.registry = registry;
    this.len = len;
  }

  get maxIoSectors(): number {
    return this.splitBoundary;
  }

  async map(bio: Bio): Promise<void> {
    const bdev = this.dev.bdev;
    if (bio.op === 'read' || bio.op === 'flush') return submitBio(bdev, bio, bio.sector);
    // Writes and write-zeroes change the origin, so snapshots get their copies first (discards never come: the
    // target takes none, origin_ctr sets only num_flush_bios, and the device refuses them). A bio
    // longer than the split boundary goes down as pieces submitted together, as the dm core splits it.
    const step = this.splitBoundary || bio.count;
    const pieces: Promise<void>[] = [];
    for (let done = 0; done < bio.count; ) {
      const sector = bio.sector + done;
      const count = Math.min(bio.count - done, step - (sector % step));
      const buf = bio.buf?.subarray(done * SECTOR_SIZE, (done + count) * SECTOR_SIZE);
      const piece: Bio = { ...bio, sector, count, ...(buf ? { buf } : {}) };
      pieces.push(this.registry.originWrite(bdev, sector, () => submitBio(bdev, piece, sector)));
      done += count;
    }
    await settleAll(pieces);
  }

  status(type: StatusType): string {
    return type === 'table' ? formatOriginTable({ origin: this.dev.name }) : '';
  }

  async resume(): Promise<void> {
    this.splitBoundary = this.registry.minimumChunkSize(this.dev.bdev);
  }

  devices(): DmDevice[] {
    return [this.dev];
  }

  deviceAreas(): DeviceArea[] {
    return [{ device: this.dev, start: 0, len: this.len }];
  }

  async destroy(): Promise<void> {}

  static readonly type: TargetType = {
    name: 'snapshot-origin',
    version: [1, 9, 0],
    async create(ctx, args) {
      if (args.length !== 1) {
        throw new TargetArgumentError(
          'origin: incorrect number of arguments',
          undefined,
          `expected <origin_dev>, got ${args.length}`,
        );
      }
      let dev: DmDevice;
      try {
        dev = await ctx.getDevice(args[0]!, ctx.readOnly ? 'r' : 'rw');
      } catch (e) {
        throw new TargetArgumentError(
          'Cannot get target device',
          0,
          e instanceof Error ? e.message : String(e),
          'ENODEV',
        );
      }
      return new SnapshotOrigin(dev, registryFor(ctx), ctx.len);
    },
  };
}

export const originTargetType = SnapshotOrigin.type;
