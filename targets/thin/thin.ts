// The `thin` target (dm-thin.c: thin_ctr, thin_map/thin_bio_map, process_cell, provision_block,
// break_sharing, process_discard_bio, thin_status). Table `<pool dev> <dev id> [<external origin dev>]`.
// Reads of unmapped blocks give zeros (or the origin's data); the first write to a block allocates a data block
// and, unless it covers the whole block, first zeroes it (or copies the origin's / the shared block's contents
// into it) through the pool's kcopyd client. A block written since the last snapshot of its device is not
// shared; one mapped before it is, and a write then breaks the sharing. All data I/O goes to the pool device.

import { DmError, IoError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import type { DiscardLimits } from '../../src/block/block-device.js';
import type { Bio } from '../../src/dm/bio.js';
import { getArgDevice, TargetArgumentError } from '../../src/dm/dm-args.js';
import { MappedBlockDevice } from '../../src/dm/mapped-device.js';
import { bioBuffer } from '../../src/dm/submit-bio.js';
import type { DmDevice, StatusType, Target, TargetContext, TargetType } from '../../src/dm/target.js';
import type { IoRegion, KcopydResult } from '../../src/kcopyd/types.js';
import './events.js';
import type { Pool } from './pool.js';
import { poolRegistryFor } from './pool-registry.js';
import { thinMapRuns } from './thin-map.js';
import { type Lookup, MAX_DEV_ID, type ThinDevice } from './thin-metadata.js';
import { releasePool } from './thin-pool.js';

/** max_discard_sectors of a thin device (thin_io_hints: 2048 * 1024 * 16). */
const THIN_MAX_DISCARD_SECTORS = 33554432;

function checkCopy(r: KcopydResult, what: string): void {
  if (r.readErr || r.writeErr)
    throw new IoError(`thin: ${what} failed (kcopyd read error ${r.readErr}, write error bits ${r.writeErr})`);
}

class ThinTarget implements Target {
  readonly maxIoSectors: number;
  private readonly ctx: TargetContext;
  private readonly pool: Pool;
  private readonly td: ThinDevice;
  private readonly poolDev: DmDevice;
  private readonly origin: DmDevice | undefined;
  private readonly bs: number;
  /** Bios waiting on each virtual block (the bio prison's virtual cells). */
  private readonly cells = new Map<number, Promise<unknown>>();
  private highest: number | undefined;
  private destroyed = false;

  constructor(ctx: TargetContext, pool: Pool, td: ThinDevice, poolDev: DmDevice, origin: DmDevice | undefined) {
    this.ctx = ctx;
    this.pool = pool;
    this.td = td;
    this.poolDev = poolDev;
    this.origin = origin;
    this.bs = pool.sectorsPerBlock;
    // dm_set_target_max_io_len(ti, block_size): no bio crosses a data block.
    this.maxIoSectors = this.bs;
  }

  /** thin_ctr: num_discard_bios = 1 and discards_supported only while the pool has discards enabled. */
  get takesDiscards(): boolean {
    return this.pool.pf.discardEnabled;
  }

  /** thin_io_hints: discards in whole data blocks, at most 16 GiB at a time. */
  discardHints(limits: DiscardLimits): DiscardLimits {
    return {
      ...limits,
      maxSectors: THIN_MAX_DISCARD_SECTORS,
      maxHwSectors: THIN_MAX_DISCARD_SECTORS,
      granularity: this.bs * SECTOR_SIZE,
    };
  }

  async map(bio: Bio): Promise<void> {
    if (this.pool.mode === 'fail') throw new IoError(`${this.ctx.deviceName}: the pool is in fail mode`);
    switch (bio.op) {
      case 'flush':
        return this.flush();
      case 'discard':
        return this.discard(bio);
      case 'read':
        return this.inCell(Math.floor(bio.sector / this.bs), () => this.read(bio));
      case 'write':
      case 'write_zeroes': {
        const w: Bio =
          bio.op === 'write'
            ? bio
            : { op: 'write', sector: bio.sector, count: bio.count, buf: Buffer.alloc(bio.count * SECTOR_SIZE) };
        if (w.preflush) await this.flush();
        await this.write(w);
        if (w.fua) await this.flush();
        return;
      }
    }
  }

  /** Runs fn alone for this virtual block (bios of other blocks go on). */
  private inCell<T>(virt: number, fn: () => Promise<T>): Promise<T> {
    const before = this.cells.get(virt) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.cells.set(virt, settled);
    void settled.then(() => {
      if (this.cells.get(virt) === settled) this.cells.delete(virt);
    });
    return run;
  }

  /** A flush commits when this device changed in this transaction (the commit flushes the data device first). */
  private async flush(): Promise<void> {
    if (this.td.changed) await this.pool.commit();
    else await this.poolDev.bdev.flush();
  }

  private find(virt: number): Promise<Lookup | undefined> {
    return this.pool.metadata('dm_thin_find_block', () => this.pool.pmd.findBlock(this.td, virt));
  }

  private async read(bio: Bio): Promise<void> {
    const virt = Math.floor(bio.sector / this.bs);
    const buf = bioBuffer(bio);
    const l = await this.find(virt);
    if (l) return this.poolDev.bdev.read(l.block * this.bs + (bio.sector % this.bs), buf);
    const origin = this.origin?.bdev;
    if (!origin || bio.sector >= origin.sizeSectors) {
      buf.fill(0);
      return;
    }
    // A read crossing the origin's end gets the origin's part and zeros after it.
    const n = Math.min(bio.count, origin.sizeSectors - bio.sector);
    await origin.read(bio.sector, buf.subarray(0, n * SECTOR_SIZE));
    buf.fill(0, n * SECTOR_SIZE);
  }

  /** process_cell for a write: remap to an unshared block, else provision or break sharing (waiting for space). */
  private async write(bio: Bio): Promise<void> {
    const virt = Math.floor(bio.sector / this.bs);
    for (;;) {
      const done = await this.inCell(virt, async () => {
        const l = await this.find(virt);
        if (l && !l.shared) {
          await this.poolDev.bdev.write(l.block * this.bs + (bio.sector % this.bs), bioBuffer(bio));
          return true;
        }
        const pool = this.pool;
        if (pool.mode === 'out-of-data-space') return false;
        if (pool.mode !== 'write')
          throw new IoError(`${this.ctx.deviceName}: write needs a new block but the pool is read-only`);
        let block: number;
        try {
          block = await pool.allocDataBlock();
        } catch (e) {
          if (e instanceof DmError && e.code === 'ENOSPC') return false;
          throw e;
        }
        await this.provision(bio, virt, block, l);
        return true;
      });
      if (done) return;
      await this.pool.waitForSpace();
    }
  }

  /**
   * provision_block / break_sharing: prepare the new block (copy the shared block or the origin's data, or zero
   * it) unless the write covers all of it, map it, and write. A whole-block write maps the block after it lands.
   */
  private async provision(bio: Bio, virt: number, block: number, shared: Lookup | undefined): Promise<void> {
    const bs = this.bs;
    const dev = this.poolDev.bdev;
    const to: IoRegion = { bdev: dev, sector: block * bs, count: bs };
    const whole = bio.count === bs;
    const data = bioBuffer(bio);
    const at = block * bs + (bio.sector % bs);
    const origin = this.origin?.bdev;
    const start = virt * bs;
    let how: 'zero' | 'overwrite' | 'no-zero' | 'break-sharing' | 'external-copy';
    if (whole) {
      how = shared ? 'break-sharing' : origin && start < origin.sizeSectors ? 'external-copy' : 'overwrite';
      await dev.write(at, data);
      await this.insert(virt, block);
    } else {
      if (shared) {
        how = 'break-sharing';
        checkCopy(
          await this.pool.copier.copyAsync({ bdev: dev, sector: shared.block * bs, count: bs }, [to]),
          'copy of a shared block',
        );
      } else if (origin && start < origin.sizeSectors) {
        how = 'external-copy';
        const len = Math.min(bs, origin.sizeSectors - start);
        checkCopy(
          await this.pool.copier.copyAsync({ bdev: origin, sector: start, count: len }, [{ ...to, count: len }]),
          'copy from the external origin',
        );
        if (len < bs && this.pool.pf.zeroNewBlocks)
          checkCopy(
            await this.pool.copier.zeroAsync([{ bdev: dev, sector: to.sector + len, count: bs - len }]),
            'zeroing',
          );
      } else if (this.pool.pf.zeroNewBlocks) {
        how = 'zero';
        checkCopy(await this.pool.copier.zeroAsync([to]), 'zeroing of a new block');
      } else how = 'no-zero';
      await this.insert(virt, block);
      await dev.write(at, data);
    }
    this.ctx.bus.emit('thin.provision', {
      device: this.ctx.deviceName,
      thinId: this.td.id,
      virtBlock: virt,
      dataBlock: block,
      how,
    });
  }

  private insert(virt: number, block: number): Promise<void> {
    return this.pool.metadata('dm_thin_insert_block', () => this.pool.pmd.insertBlock(this.td, virt, block));
  }

  /**
   * process_discard_bio: unmaps the whole blocks inside the range (a discard within one block does nothing);
   * with passdown, data blocks no other device maps are discarded on the data device too.
   */
  private async discard(bio: Bio): Promise<void> {
    const pool = this.pool;
    if (!pool.pf.discardEnabled || pool.mode === 'read-only' || pool.mode === 'out-of-metadata-space') return;
    const bs = this.bs;
    let begin = Math.ceil(bio.sector / bs);
    const end = Math.floor((bio.sector + bio.count) / bs);
    while (begin < end) {
      const run = await pool.metadata('dm_thin_find_mapped_range', () => pool.pmd.findMappedRange(this.td, begin, end));
      if (!run) break;
      await pool.metadata('dm_thin_remove_range', () => pool.pmd.removeRange(this.td, run.virtBegin, run.virtEnd));
      if (pool.pf.discardPassdown) {
        for (let i = 0; i < run.virtEnd - run.virtBegin; i++) {
          const d = run.dataBegin + i;
          // Freed blocks are not reused before the next commit, so discarding them now is safe.
          if ((await pool.pmd.dataBlockCount(d)) === 0) await this.poolDev.bdev.discard(d * bs, bs);
        }
      }
      begin = run.virtEnd;
    }
  }

  /** Tells a viewer which blocks the device maps and shares as it goes live (the thin.map event). */
  async resume(): Promise<void> {
    const runs = await thinMapRuns(this.pool.pmd, this.td).catch(() => undefined);
    if (!runs) return;
    const blocks = Math.ceil(this.ctx.len / this.bs);
    this.ctx.bus.emit('thin.map', {
      device: this.ctx.deviceName,
      thinId: this.td.id,
      blockSectors: this.bs,
      blocks,
      ...runs,
    });
  }

  async prepareStatus(): Promise<void> {
    if (this.pool.mode === 'fail') return;
    this.highest = await this.pool.pmd.highestMappedBlock(this.td).catch(() => undefined);
  }

  status(type: StatusType): string {
    if (type === 'table') return `${this.poolDev.name} ${this.td.id}${this.origin ? ` ${this.origin.name}` : ''}`;
    if (this.pool.mode === 'fail') return 'Fail';
    const mapped = this.td.mappedBlocks * this.bs;
    if (this.td.mappedBlocks === 0 || this.highest === undefined) return `${mapped} -`;
    return `${mapped} ${(this.highest + 1) * this.bs - 1}`;
  }

  devices(): DmDevice[] {
    return this.origin ? [this.poolDev, this.origin] : [this.poolDev];
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.allSettled([...this.cells.values()]);
    await this.pool.pmd.closeThin(this.td);
    await releasePool(this.ctx, this.pool);
  }
}

export const thinTargetType: TargetType = {
  name: 'thin',
  version: [1, 22, 0],
  async create(ctx: TargetContext, args: string[]): Promise<Target> {
    if (args.length !== 2 && args.length !== 3) throw new TargetArgumentError('Invalid argument count');
    let origin: DmDevice | undefined;
    if (args.length === 3) {
      if (args[2] === args[0]) throw new TargetArgumentError('Error setting origin device', 2);
      origin = await getArgDevice(ctx, args[2]!, 'r', 2, 'Error opening origin device');
    }
    const poolDev = await getArgDevice(ctx, args[0]!, ctx.readOnly ? 'r' : 'rw', 0, 'Error opening pool device');
    const idWord = args[1]!;
    if (!/^\d+$/.test(idWord) || BigInt(idWord) > BigInt(MAX_DEV_ID))
      throw new TargetArgumentError('Invalid device id', 1);
    const id = Number(idWord);
    if (!(poolDev.bdev instanceof MappedBlockDevice))
      throw new TargetArgumentError("Couldn't get pool mapped device", 0);
    const pool = poolRegistryFor(ctx.kcopyd).get(poolDev.bdev.device.name);
    if (!pool) throw new TargetArgumentError("Couldn't find pool object", 0);
    if (pool.mode === 'fail') throw new TargetArgumentError("Couldn't open thin device, Pool is in fail mode", 0);
    let td: ThinDevice;
    try {
      td = await pool.pmd.openThin(id);
    } catch (e) {
      throw new TargetArgumentError(
        "Couldn't open thin internal device",
        1,
        e instanceof Error ? e.message : String(e),
        e instanceof DmError ? e.code : 'EINVAL',
      );
    }
    if (pool.suspended) {
      await pool.pmd.closeThin(td);
      throw new TargetArgumentError('Unable to activate thin device while pool is suspended', 0);
    }
    pool.refs++;
    return new ThinTarget(ctx, pool, td, poolDev, origin);
  },
};
