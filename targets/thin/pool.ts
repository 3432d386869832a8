// Pool: the state one thin pool keeps across table reloads (dm-thin.c: struct pool): its metadata, the mode
// (write, out of data space, read-only, fail), allocation with the low-water event, commits (on demand and
// from the one-second waker), the kcopyd client that zeroes and copies data blocks (owner `thin`), and the
// writes waiting for space. Pools are found by the mapped device that holds the thin-pool table
// (__pool_table_lookup), so a thin table naming /dev/mapper/POOL reaches the same object.

import type { Clock } from '../../src/base/clock.js';
import { DmError, IoError, NoSpaceError } from '../../src/base/errors.js';
import type { EventBus } from '../../src/base/events.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import type { KcopydEnvironment } from '../../src/kcopyd/environment.js';
import type { KcopydClient } from '../../src/kcopyd/types.js';
import './events.js';
import type { PoolFeatures } from './pool-features.js';
import type { PoolMetadata } from './thin-metadata.js';

export type PoolMode = 'write' | 'out-of-data-space' | 'out-of-metadata-space' | 'read-only' | 'fail';

/** COMMIT_PERIOD: the waker commits a changed pool this often. */
const COMMIT_PERIOD_MS = 1000;

/** The dm_thin_pool module's parameters (/sys/module/dm_thin_pool/parameters/), shared by every pool. */
export interface ThinPoolParameters {
  /** no_space_timeout: seconds a pool out of data space queues writes before it errors them; 0: for ever. */
  noSpaceTimeout: number;
}

/** What the pool needs of the table that binds it (pool->ti): its device name and how to raise an event. */
export interface PoolBinding {
  readonly deviceName: string;
  readonly dataDevice: BlockDevice;
  readonly features: PoolFeatures;
  readonly lowWaterBlocks: number;
  raiseEvent(): void;
}

export class Pool {
  readonly pmd: PoolMetadata;
  readonly metadataDevice: BlockDevice;
  readonly sectorsPerBlock: number;
  readonly copier: KcopydClient;
  readonly mdName: string;
  mode: PoolMode = 'write';
  /** The live features (pool->pf): error_if_no_space can differ from what the table asked for. */
  pf: PoolFeatures;
  binding: PoolBinding;
  lowWaterTriggered = false;
  suspended = false;
  /** Tables (pool and thin) holding the pool. */
  refs = 0;
  private readonly bus: EventBus;
  private readonly clock: Clock;
  private readonly parameters: ThinPoolParameters;
  private cancelWaker: (() => void) | undefined;
  /** The armed no_space_timeout (pool->no_space_timeout delayed work), if any. */
  private cancelNoSpaceTimeout: (() => void) | undefined;
  private lastCommit: number;
  /** Writes waiting for data space (retry_on_resume): woken when space returns or the pool resumes. */
  private spaceWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** The allocation in progress (allocDataBlock): the next one starts after it. */
  private allocating: Promise<unknown> = Promise.resolve();

  constructor(
    pmd: PoolMetadata,
    metadataDevice: BlockDevice,
    binding: PoolBinding,
    sectorsPerBlock: number,
    env: { bus: EventBus; clock: Clock; kcopyd: KcopydEnvironment; parameters: ThinPoolParameters },
  ) {
    this.pmd = pmd;
    this.metadataDevice = metadataDevice;
    this.binding = binding;
    this.mdName = binding.deviceName;
    this.pf = { ...binding.features };
    this.sectorsPerBlock = sectorsPerBlock;
    this.bus = env.bus;
    this.clock = env.clock;
    this.parameters = env.parameters;
    this.lastCommit = env.clock.now();
    this.copier = env.kcopyd.createClient({ owner: 'thin' });
    // pre_commit_fn: mapped data must be durable before the metadata that points at it.
    pmd.preCommit = () => this.binding.dataDevice.flush();
  }

  /** A metadata operation: a failure aborts the transaction and leaves the pool read-only (needs_check). */
  async metadata<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await this.metadataOperationFailed(operation, e);
      throw e;
    }
  }

  private async metadataOperationFailed(operation: string, e: unknown): Promise<void> {
    const errno = e instanceof DmError ? e.code : 'EIO';
    const message = `${this.mdName}: metadata operation '${operation}' failed: error = ${errno}`;
    this.bus.emit('thin.pool.metadata_error', { device: this.mdName, operation, message });
    try {
      await this.pmd.abort();
      await this.pmd.setNeedsCheck();
      this.setMode('read-only');
    } catch {
      this.setMode('fail');
    }
  }

  /** commit() in dm-thin.c: refused in the read-only modes; afterwards space may have come back. */
  async commit(): Promise<void> {
    if (this.mode !== 'write' && this.mode !== 'out-of-data-space') return;
    await this.metadata('dm_pool_commit_metadata', () => this.pmd.commit());
    this.lastCommit = this.clock.now();
    this.bus.emit('thin.pool.commit', { device: this.mdName, transactionId: this.pmd.transactionId.toString() });
    if (this.pmd.metadataFree === 0 && this.mode === 'write') this.setMode('out-of-metadata-space');
    // check_for_data_space
    if (this.mode === 'out-of-data-space' && this.pmd.dataFree > 0) this.setMode('write');
  }

  /**
   * alloc_data_block runs on the pool's one worker: allocations happen one at a time, so each sees the free count
   * (and the low water mark) the ones before it left, even for the many blocks of one large write.
   */
  allocDataBlock(): Promise<number> {
    const run = this.allocating.then(() => this.allocOne());
    this.allocating = run.catch(() => undefined);
    return run;
  }

  /** One allocation: the low-water event, a commit when full (frees count only then), out of space. */
  private async allocOne(): Promise<number> {
    // An allocation queued behind the one that ran out of space is out of space too.
    if (this.mode === 'out-of-data-space') throw this.noSpaceError();
    if (this.mode !== 'write') throw new IoError(`${this.mdName}: pool is not in write mode`);
    let free = this.pmd.dataFree;
    this.checkLowWater(free);
    if (free === 0) {
      await this.commit();
      free = this.pmd.dataFree;
      if (free === 0) {
        this.setMode('out-of-data-space');
        throw new NoSpaceError(`${this.mdName}: no free data blocks`);
      }
    }
    const b = await this.metadata('dm_pool_alloc_data_block', () => this.pmd.allocDataBlock());
    if (b === undefined) {
      this.setMode('out-of-data-space');
      throw this.noSpaceError();
    }
    if (this.pmd.metadataFree === 0) await this.commit();
    return b;
  }

  private checkLowWater(free: number): void {
    if (free <= this.binding.lowWaterBlocks && !this.lowWaterTriggered) {
      this.lowWaterTriggered = true;
      this.bus.emit('thin.pool.low_water', {
        device: this.mdName,
        space: 'data',
        message: `${this.mdName}: reached low water mark for data device: sending event.`,
      });
      this.binding.raiseEvent();
    }
  }

  /** metadata_low_callback. */
  metadataLow(): void {
    this.bus.emit('thin.pool.low_water', {
      device: this.mdName,
      space: 'metadata',
      message: `${this.mdName}: reached low water mark for metadata device: sending event.`,
    });
    this.binding.raiseEvent();
  }

  /**
   * set_pool_mode: a pool that needs checking never goes back to write mode, a failed pool never leaves
   * fail mode; leaving out-of-data-space wakes the waiting writes. Every change raises an event.
   */
  setMode(requested: PoolMode): void {
    const old = this.mode;
    let mode = requested;
    if (mode === 'write' && this.pmd.needsCheck) {
      this.bus.emit('thin.pool.mode', {
        device: this.mdName,
        mode: old,
        message: `${this.mdName}: unable to switch pool to write mode until repaired.`,
      });
      mode = old !== mode ? old : 'read-only';
    }
    if (old === 'fail') mode = old;
    if (mode === 'write') this.pf.errorIfNoSpace = this.binding.features.errorIfNoSpace;
    this.mode = mode;
    if (mode !== 'out-of-data-space') this.wakeSpaceWaiters(mode === 'write' ? undefined : this.modeError());
    else if (this.pf.errorIfNoSpace) this.wakeSpaceWaiters(this.noSpaceError());
    if (mode === 'out-of-data-space' && !this.pf.errorIfNoSpace) this.armNoSpaceTimeout();
    else if (mode !== 'out-of-data-space') this.disarmNoSpaceTimeout();
    if (old !== mode) this.notifyModeChange();
  }

  /** notify_of_pool_mode_change: the kernel's DMINFO and a dm event. */
  private notifyModeChange(): void {
    const names: Record<PoolMode, string> = {
      write: 'write',
      'out-of-data-space': 'out-of-data-space',
      'out-of-metadata-space': 'read-only',
      'read-only': 'read-only',
      fail: 'fail',
    };
    const mode = this.mode;
    const extra = mode === 'out-of-data-space' ? (this.pf.errorIfNoSpace ? ' (error IO)' : ' (queue IO)') : '';
    this.bus.emit('thin.pool.mode', {
      device: this.mdName,
      mode,
      message: `${this.mdName}: switching pool to ${names[mode]}${extra} mode`,
    });
    this.binding.raiseEvent();
  }

  /**
   * set_pool_mode(PM_OUT_OF_DATA_SPACE) queues the no_space_timeout work unless it is queued already or the
   * module parameter is 0. do_no_space_timeout: still out of space and queueing, the pool switches to
   * error_if_no_space (status, not table), says so with an event, and the queued writes fail with ENOSPC.
   */
  private armNoSpaceTimeout(): void {
    const seconds = this.parameters.noSpaceTimeout;
    if (this.cancelNoSpaceTimeout || seconds <= 0) return;
    this.cancelNoSpaceTimeout = this.clock.setTimer(seconds * 1000, () => {
      this.cancelNoSpaceTimeout = undefined;
      if (this.mode !== 'out-of-data-space' || this.pf.errorIfNoSpace) return;
      this.pf.errorIfNoSpace = true;
      this.notifyModeChange();
      this.wakeSpaceWaiters(this.noSpaceError());
    });
  }

  /** cancel_delayed_work_sync(&pool->no_space_timeout): on leaving the mode and in pool_postsuspend. */
  disarmNoSpaceTimeout(): void {
    this.cancelNoSpaceTimeout?.();
    this.cancelNoSpaceTimeout = undefined;
  }

  private modeError(): DmError {
    return new IoError(`${this.mdName}: the pool is in ${this.mode} mode`);
  }

  noSpaceError(): DmError {
    return new NoSpaceError(`${this.mdName}: the pool is out of data space`);
  }

  /**
   * A write that needs a new block while the pool is out of data space: waits until space returns (a commit
   * that freed blocks, a resume with a bigger data device), or fails at once with error_if_no_space.
   */
  waitForSpace(): Promise<void> {
    // The mode may have changed meanwhile: write mode retries at once, read-only and fail error the bio.
    if (this.mode === 'write') return Promise.resolve();
    if (this.mode !== 'out-of-data-space') return Promise.reject(this.modeError());
    if (this.pf.errorIfNoSpace) return Promise.reject(this.noSpaceError());
    return new Promise((resolve, reject) => this.spaceWaiters.push({ resolve, reject }));
  }

  private wakeSpaceWaiters(error: DmError | undefined): void {
    for (const w of this.spaceWaiters.splice(0)) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  /** pool_resume: the low water mark may fire again; queued writes try again; the waker starts. */
  resume(): void {
    this.suspended = false;
    this.lowWaterTriggered = false;
    this.wakeSpaceWaiters(undefined);
    this.startWaker();
  }

  /** pool_postsuspend: the waker and the no-space timeout stop and the pool commits. */
  async postsuspend(): Promise<void> {
    this.stopWaker();
    this.disarmNoSpaceTimeout();
    await this.commit();
  }

  private startWaker(): void {
    this.stopWaker();
    this.cancelWaker = this.clock.setTimer(COMMIT_PERIOD_MS, () => {
      this.cancelWaker = undefined;
      void this.periodicCommit().finally(() => {
        if (!this.suspended && this.refs > 0) this.startWaker();
      });
    });
  }

  stopWaker(): void {
    this.cancelWaker?.();
    this.cancelWaker = undefined;
  }

  /** do_waker -> process_deferred_bios: commit when a thin changed and COMMIT_PERIOD has passed. */
  private async periodicCommit(): Promise<void> {
    if (!this.pmd.changedThisTransaction) return;
    if (this.clock.now() - this.lastCommit < COMMIT_PERIOD_MS) return;
    await this.commit().catch(() => undefined);
  }
}
