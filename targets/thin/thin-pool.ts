// The `thin-pool` target (dm-thin.c: pool_ctr, pool_map, pool_status, pool_message, pool_preresume...).
// Table `<metadata dev> <data dev> <data block size> <low water mark> [<#features> <feature>...]`. The pool
// object outlives reloads of the same mapped device (metadata is read once, when it is created); I/O sent to
// the pool device goes to the data device unchanged. INFO status commits first, as the kernel's does.

import { DmError, InvalidArgumentError, NotSupportedError } from '../../src/base/errors.js';
import { takesDiscards } from '../../src/block/block-device.js';
import type { Bio } from '../../src/dm/bio.js';
import { getArgDevice, parseSectorArg, TargetArgumentError } from '../../src/dm/dm-args.js';
import { submitBio } from '../../src/dm/submit-bio.js';
import type { DeviceArea, DmDevice, StatusType, Target, TargetContext, TargetType } from '../../src/dm/target.js';
import { Pool } from './pool.js';
import { emitFeatures, type PoolFeatures, parsePoolFeatures } from './pool-features.js';
import { handlePoolMessage } from './pool-messages.js';
import { poolRegistryFor } from './pool-registry.js';
import { PoolMetadata } from './thin-metadata.js';

const MIN_BLOCK_SECTORS = 128;
const MAX_BLOCK_SECTORS = 2097152;

class ThinPoolTarget implements Target {
  readonly maxIoSectors = 0;
  readonly pool: Pool;
  private readonly ctx: TargetContext;
  private readonly metadataDev: DmDevice;
  private readonly dataDev: DmDevice;
  private readonly blockSize: number;
  private readonly lowWater: bigint;
  private readonly requested: PoolFeatures;
  private destroyed = false;

  constructor(
    ctx: TargetContext,
    pool: Pool,
    devs: { metadata: DmDevice; data: DmDevice },
    blockSize: number,
    lowWater: bigint,
    requested: PoolFeatures,
  ) {
    this.ctx = ctx;
    this.pool = pool;
    this.metadataDev = devs.metadata;
    this.dataDev = devs.data;
    this.blockSize = blockSize;
    this.lowWater = lowWater;
    this.requested = requested;
  }

  /** pool_ctr: num_discard_bios = 1 only with discards and their passdown on (a discard then goes to the data device). */
  get takesDiscards(): boolean {
    return this.pool.pf.discardEnabled && this.pool.pf.discardPassdown;
  }

  /** pool_map: everything sent to the pool device goes to the data device. */
  map(bio: Bio): Promise<void> {
    return submitBio(this.dataDev.bdev, bio, bio.sector);
  }

  async prepareStatus(): Promise<void> {
    await this.pool.commit().catch(() => undefined);
  }

  status(type: StatusType): string {
    if (type === 'table') {
      return `${this.metadataDev.name} ${this.dataDev.name} ${this.blockSize} ${this.lowWater} ${emitFeatures(this.requested)}`;
    }
    const pool = this.pool;
    if (pool.mode === 'fail') return 'Fail';
    const pmd = pool.pmd;
    const metaTotal = pmd.metadataTotal;
    const dataTotal = pmd.dataTotal;
    const mode = pool.mode === 'out-of-data-space' ? 'out_of_data_space' : pool.mode === 'write' ? 'rw' : 'ro';
    const discard = !pool.pf.discardEnabled
      ? 'ignore_discard'
      : pool.pf.discardPassdown
        ? 'discard_passdown'
        : 'no_discard_passdown';
    const noSpace = pool.pf.errorIfNoSpace ? 'error_if_no_space' : 'queue_if_no_space';
    const held = pmd.metadataSnap ? String(pmd.metadataSnap) : '-';
    // calc_metadata_threshold: from the metadata device's size now.
    const threshold = Math.min(1024, Math.floor(pmd.deviceBlocks / 4));
    return (
      `${pmd.transactionId} ${metaTotal - pmd.metadataFree}/${metaTotal} ${dataTotal - pmd.dataFree}/${dataTotal} ` +
      `${held} ${mode} ${discard} ${noSpace} ${pmd.needsCheck ? 'needs_check' : '-'} ${threshold} `
    );
  }

  /** pool_message: refused in the read-only modes; a handled message is followed by a commit. */
  async message(args: string[]): Promise<string> {
    const pool = this.pool;
    if (pool.mode !== 'write' && pool.mode !== 'out-of-data-space') {
      throw new NotSupportedError(
        `thin: ${this.ctx.deviceName}: unable to service pool target messages in READ_ONLY or FAIL mode`,
      );
    }
    await handlePoolMessage(pool, args);
    await pool.commit();
    this.ctx.bus.emit('thin.pool.message', { device: this.ctx.deviceName, args: [...args] });
    return '';
  }

  async presuspend(): Promise<void> {
    this.pool.suspended = true;
  }

  async postsuspend(): Promise<void> {
    await this.pool.postsuspend();
  }

  /** pool_preresume: bind this table, grow the data and metadata maps to the devices, commit if they grew. */
  async preresume(): Promise<void> {
    const pool = this.pool;
    this.bind();
    let grew = false;
    const dataBlocks = Math.floor(this.ctx.len / this.blockSize);
    const have = pool.pmd.dataTotal;
    if (dataBlocks < have) {
      throw new InvalidArgumentError(
        `${this.ctx.deviceName}: pool target (${dataBlocks} blocks) too small: expected ${have}`,
      );
    }
    if (dataBlocks > have && !pool.pmd.needsCheck) {
      await pool.metadata('dm_pool_resize_data_dev', () => pool.pmd.resizeDataDev(dataBlocks));
      grew = true;
    }
    const metaBlocks = pool.pmd.deviceBlocks;
    const metaHave = pool.pmd.metadataTotal;
    if (metaBlocks < metaHave) {
      throw new InvalidArgumentError(
        `${this.ctx.deviceName}: metadata device (${metaBlocks} blocks) too small: expected ${metaHave}`,
      );
    }
    if (metaBlocks > metaHave && !pool.pmd.needsCheck) {
      if (pool.mode === 'out-of-metadata-space') pool.setMode('write');
      await pool.metadata('dm_pool_resize_metadata_dev', () => pool.pmd.resizeMetadataDev(metaBlocks));
      grew = true;
    }
    if (grew) await pool.commit();
  }

  async resume(): Promise<void> {
    this.pool.resume();
  }

  /** bind_control_target: the pool now answers to this table (its devices, features, low water mark, mode). */
  private bind(): void {
    const pool = this.pool;
    pool.binding = {
      deviceName: this.ctx.deviceName,
      dataDevice: this.dataDev.bdev,
      features: this.requested,
      lowWaterBlocks: Number(this.lowWater),
      raiseEvent: () => this.ctx.raiseEvent(),
    };
    pool.pmd.rebind(this.metadataDev.bdev);
    pool.pf = { ...this.requested };
    // disable_passdown_if_not_supported: a data device that takes no discards gets none passed down (the table
    // line still shows what was asked for, the status shows no_discard_passdown).
    if (pool.pf.discardPassdown && !takesDiscards(this.dataDev.bdev)) pool.pf.discardPassdown = false;
    pool.setMode(this.requested.readOnly ? 'read-only' : 'write');
  }

  devices(): DmDevice[] {
    return [this.metadataDev, this.dataDev];
  }

  deviceAreas(): DeviceArea[] {
    return [{ device: this.dataDev, start: 0, len: this.ctx.len }];
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await releasePool(this.ctx, this.pool);
  }
}

/** __pool_dec: the last table holding the pool closes its metadata (committing unless read-only). */
export async function releasePool(ctx: TargetContext, pool: Pool): Promise<void> {
  if (--pool.refs > 0) return;
  pool.stopWaker();
  pool.disarmNoSpaceTimeout();
  poolRegistryFor(ctx.kcopyd).remove(pool);
  await pool.pmd.close(pool.mode === 'write' || pool.mode === 'out-of-data-space').catch(() => undefined);
  await pool.copier.destroy();
}

export const thinPoolTargetType: TargetType = {
  name: 'thin-pool',
  version: [1, 22, 0],
  async create(ctx: TargetContext, args: string[]): Promise<Target> {
    if (args.length < 4) throw new TargetArgumentError('Invalid argument count');
    if (args[0] === args[1]) throw new TargetArgumentError('Error setting metadata or data device', 1);
    const pf = parsePoolFeatures(args, 4);
    const metadata = await getArgDevice(
      ctx,
      args[0]!,
      pf.readOnly ? 'r' : 'rw',
      0,
      'Error opening metadata block device',
    );
    const data = await getArgDevice(ctx, args[1]!, 'rw', 1, 'Error getting data device');
    const blockSize = parseSectorArg(args[2]);
    if (
      blockSize === undefined ||
      blockSize < MIN_BLOCK_SECTORS ||
      blockSize > MAX_BLOCK_SECTORS ||
      blockSize % MIN_BLOCK_SECTORS !== 0
    )
      throw new TargetArgumentError('Invalid block size', 2);
    if (!/^\d+$/.test(args[3]!) || BigInt(args[3]!) >= 2n ** 64n)
      throw new TargetArgumentError('Invalid low water mark', 3);
    const lowWater = BigInt(args[3]!);
    const registry = poolRegistryFor(ctx.kcopyd);
    let pool = registry.byMetadataDevice(metadata.name);
    if (pool) {
      if (pool.mdName !== ctx.deviceName)
        throw new TargetArgumentError('metadata device already in use by a pool', 0, undefined, 'EBUSY');
      if (pool.binding.dataDevice.name !== data.bdev.name)
        throw new TargetArgumentError('data device already in use by a pool', 1, undefined, 'EBUSY');
    } else {
      pool = registry.get(ctx.deviceName);
      if (pool) throw new TargetArgumentError('different pool cannot replace a pool', 0);
    }
    if (!pool) {
      let pmd: PoolMetadata;
      try {
        pmd = await PoolMetadata.open(metadata.bdev, {
          dataBlockSize: blockSize,
          mayFormat: !pf.readOnly,
          readOnly: pf.readOnly,
        });
      } catch (e) {
        throw new TargetArgumentError(
          'Error creating metadata object',
          0,
          e instanceof Error ? e.message : String(e),
          e instanceof DmError ? e.code : 'EINVAL',
        );
      }
      const binding = {
        deviceName: ctx.deviceName,
        dataDevice: data.bdev,
        features: pf,
        lowWaterBlocks: Number(lowWater),
        raiseEvent: () => ctx.raiseEvent(),
      };
      pool = new Pool(pmd, metadata.bdev, binding, blockSize, { ...ctx, parameters: registry.parameters });
      const created = pool;
      pmd.registerMetadataThreshold(Math.min(1024, Math.floor(pmd.deviceBlocks / 4)), () => created.metadataLow());
      registry.add(pool);
    } else if (pool.pf.discardEnabled !== pf.discardEnabled) {
      throw new TargetArgumentError('Discard support cannot be disabled once enabled', 4);
    }
    pool.refs++;
    return new ThinPoolTarget(ctx, pool, { metadata, data }, blockSize, lowWater, pf);
  },
};
