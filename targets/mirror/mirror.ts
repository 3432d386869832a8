// The mirror target (drivers/md/dm-raid1.c, dm-mirror 1.14.0 as in Linux 6.1): a set of 2..9 legs kept
// identical region by region, with a core or disk dirty log. Everything but in-sync reads goes through
// one worker (kmirrord): each pass retires clean/recovered regions and flushes the log, starts recovery
// of the next out-of-sync region (copied by kcopyd from the default mirror to every other leg), serves
// queued reads, classifies and dispatches writes (the log is flushed before any data write), and handles
// writes that failed on some legs.

import { type DmError, IoError, NotSupportedError } from '../../src/base/errors.js';
import type { EventBus } from '../../src/base/events.js';
import type { Bio } from '../../src/dm/bio.js';
import type {
  DeviceArea,
  DmDevice,
  StatusType,
  Target,
  TargetContext,
  TargetInspection,
  TargetType,
} from '../../src/dm/target.js';
import type { IoRegion, KcopydClient } from '../../src/kcopyd/types.js';
import { CoreLog } from './core-log.js';
import type { DirtyLog, DirtyLogOwner } from './dirty-log.js';
import { DiskLog } from './disk-log.js';
import { inspectLiveMirror, type MirrorInspection } from './inspect.js';
import { type LegErrorType, MirrorLeg } from './mirror-leg.js';
import './mirror-events.js';
import { logLegsFor } from './log-legs.js';
import { type MirrorFeatures, parseMirrorTable } from './mirror-table.js';
import {
  type Region,
  RegionHash,
  RH_CLEAN,
  RH_DIRTY,
  RH_NOSYNC,
  RH_RECOVERING,
  regionStateName,
} from './region-hash.js';
import { raid1ResyncThrottle } from './resync-throttle.js';
import { formatMirrorStatus, formatMirrorTable } from './status.js';

/** MAX_RECOVERY: regions recovered in parallel. */
const MAX_RECOVERY = 1;

/** A bio the mirror holds on to until it completes (the kernel's bio plus its per-bio record). */
interface MirrorBio {
  readonly bio: Bio;
  /** Region of the bio's first sector (bios never cross a region boundary). */
  readonly region: number;
  /** The write was issued to the legs at least once (held writes may never have been tried). */
  tried?: boolean;
  resolve(): void;
  reject(e: DmError): void;
}

/** Writes that hold a region dirty (pending count): not flushes and not discards. */
function isAccounted(bio: Bio): boolean {
  return (bio.op === 'write' || bio.op === 'write_zeroes') && !bio.preflush;
}

export class MirrorSet implements Target, DirtyLogOwner {
  readonly maxIoSectors: number;
  /** num_discard_bios = 1: a discard goes to every leg (when every leg takes discards). */
  readonly takesDiscards = true;
  readonly targetLen: number;
  readonly legs: MirrorLeg[];
  readonly log: DirtyLog;
  readonly rh: RegionHash<MirrorBio>;
  readonly features: MirrorFeatures;
  readonly nrRegions: number;
  private readonly ctx: TargetContext;
  private readonly bus: EventBus;
  private readonly kcopyd: KcopydClient;
  private defaultLeg = 0;
  private inSync = false;
  private logFailure = false;
  private legFailure = false;
  /** Between presuspend and resume: held writes complete at once (reissued or failed). */
  private suspending = false;
  private noflushSuspend = false;
  private suspended = false;
  private resumedOnce = false;
  /** Recovery slots handed to the region hash (resume) and not yet taken back (presuspend). */
  private recoveryRunning = false;
  private destroyed = false;
  private reads: MirrorBio[] = [];
  private writes: MirrorBio[] = [];
  private failures: MirrorBio[] = [];
  private holds: MirrorBio[] = [];
  private wakePending = false;
  private workerRunning = false;
  private idleWaiters: (() => void)[] = [];
  private lastSyncCount = -1;

  static async create(ctx: TargetContext, args: string[]): Promise<MirrorSet> {
    const table = await parseMirrorTable(ctx, args);
    if (table.logDev && table.logArgs.sync === 'default') {
      const unseen = await logLegsFor(ctx.kcopyd).unseenLegs(table.logDev, table.legs);
      if (unseen.length > 0) {
        ctx.bus.emit('dm.warning', {
          device: ctx.deviceName,
          kind: 'mirror-log-reused',
          message:
            `${ctx.deviceName}: the disk log ${table.logDev.name} was last used with other legs and will not resync ` +
            `${unseen.join(', ')}: its in-sync bits describe the old legs (the kernel does the same, silently). ` +
            'To copy onto a new leg, use a fresh zeroed log or add "sync" after the region size.',
        });
      }
    }
    return new MirrorSet(ctx, table.logType, table.logArgs, table.logDev, table.legs, table.features);
  }

  private constructor(
    ctx: TargetContext,
    logType: 'core' | 'disk',
    logArgs: { regionSize: number; sync: 'default' | 'nosync' | 'sync' },
    logDev: DmDevice | null,
    legs: { dev: DmDevice; offset: number }[],
    features: MirrorFeatures,
  ) {
    this.ctx = ctx;
    this.bus = ctx.bus;
    this.targetLen = ctx.len;
    this.features = features;
    this.legs = legs.map((l, i) => new MirrorLeg(i, l.dev, l.offset));
    this.log = logType === 'disk' && logDev ? DiskLog.create(this, logArgs, logDev) : new CoreLog(this, logArgs);
    this.nrRegions = this.log.regionCount;
    this.maxIoSectors = logArgs.regionSize;
    this.rh = new RegionHash<MirrorBio>(this.log, MAX_RECOVERY, {
      dispatchBios: (bios) => {
        if (bios.length === 0) return;
        this.writes.push(...bios);
        this.wake();
      },
      wakeup: () => this.wake(),
      stateChanged: (region, state) =>
        this.bus.emit('mirror.region', { device: ctx.deviceName, region, state: regionStateName(state), code: state }),
    });
    this.kcopyd = ctx.kcopyd.createClient({ owner: 'mirror', throttle: raid1ResyncThrottle });
    this.wake();
  }

  // ---- the target interface -------------------------------------------------------------------------

  map(bio: Bio): Promise<void> {
    const region = this.rh.sectorToRegion(bio.sector);
    if (bio.op !== 'read') {
      return new Promise((resolve, reject) => {
        this.writes.push({ bio, region, resolve, reject });
        this.wake();
      });
    }
    if (!this.log.inSync(region)) return this.queueRead(bio, region);
    // In sync: read straight from the chosen leg, keeping enough to retry elsewhere.
    const leg = this.chooseMirror();
    if (!leg) return Promise.reject(this.eio(`all legs have failed; cannot read sector ${bio.sector}`));
    return leg.read(bio.sector, bio.buf!).catch(() => {
      this.failMirror(leg, 'read');
      if (this.defaultOk() || this.mirrorAvailable(region)) return this.queueRead(bio, region);
      throw this.eio(
        `read of sector ${bio.sector} failed on ${leg.name} and no other leg can serve it (all replicated volumes dead)`,
      );
    });
  }

  status(type: StatusType): string {
    if (type === 'info') {
      return formatMirrorStatus({
        legs: this.legs.map((l) => ({ device: l.name, health: l.health() })),
        inSyncRegions: this.log.getSyncCount(),
        totalRegions: this.nrRegions,
        log: this.log.statusFields(),
      });
    }
    return formatMirrorTable({
      log: this.log.tableFields(),
      legs: this.legs.map((l) => ({ device: l.name, offset: l.offset })),
      handleErrors: this.features.handleErrors,
      keepLog: this.features.keepLog,
    });
  }

  /** The disk log as on the log device next to the in-core bits and region states. */
  async inspect(): Promise<MirrorInspection & TargetInspection> {
    const log = this.log;
    const onDisk = log instanceof DiskLog ? await log.readOnDisk().catch(() => null) : null;
    const model = inspectLiveMirror({
      log: log.typeName,
      onDisk,
      logName: log instanceof DiskLog ? log.logDev.name : 'core',
      regionCount: this.nrRegions,
      regionSectors: log.regionSize,
      syncCount: log.getSyncCount(),
      region: (r) => ({
        clean: log.isClean(r),
        inSync: log.inSync(r),
        state: regionStateName(this.rh.getState(r)),
        pendingWrites: this.rh.pendingWrites(r),
      }),
    });
    return { ...model, kcopyd: this.kcopyd.inspect ? [this.kcopyd.inspect()] : [] };
  }

  async presuspend(options: { noflush: boolean }): Promise<void> {
    this.suspending = true;
    this.noflushSuspend = options.noflush;
    for (const mb of this.holds.splice(0)) this.holdBio(mb);
    // Finish the recovery in flight (its delayed writes are requeued), then let the worker drain. Recovery
    // only runs between a resume and the next presuspend, so there is nothing to stop otherwise.
    if (this.recoveryRunning) {
      this.recoveryRunning = false;
      await this.rh.stopRecovery();
    }
    await this.workerIdle();
  }

  async postsuspend(): Promise<void> {
    await this.log.postsuspend();
    this.suspended = true;
  }

  async resume(): Promise<void> {
    this.suspending = false;
    this.suspended = false;
    await this.log.resume();
    if (this.log instanceof DiskLog) await logLegsFor(this.ctx.kcopyd).recordLive(this.log.logDev, this.legs);
    this.resumedOnce = true;
    if (!this.recoveryRunning) {
      this.recoveryRunning = true;
      this.rh.startRecovery();
    }
  }

  devices(): DmDevice[] {
    return [...this.log.devices(), ...this.legs.map((l) => l.dev)];
  }

  /** mirror_iterate_devices: each leg maps the target's length from its offset (the log is not counted). */
  deviceAreas(): DeviceArea[] {
    return this.legs.map((l) => ({ device: l.dev, start: l.offset, len: this.targetLen }));
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    // Removing a live, unsuspended mirror quiesces it first, as the kernel's __dm_destroy does, so the log
    // ends clean. A table that never went live (a failed or replaced load) is just freed.
    if (this.resumedOnce && !this.suspended) {
      if (!this.suspending) await this.presuspend({ noflush: false });
      await this.postsuspend();
    }
    this.destroyed = true;
    await this.workerIdle();
    await this.kcopyd.destroy();
  }

  // ---- what the log asks of the mirror ----------------------------------------------------------------

  /** mirror_flush: an empty flush to every leg; a leg that fails it gets a flush error. */
  async flushLegs(): Promise<boolean> {
    const results = await Promise.allSettled(this.legs.map((l) => l.dev.bdev.flush()));
    let ok = true;
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        ok = false;
        this.failMirror(this.legs[i]!, 'flush');
      }
    });
    return ok;
  }

  raiseEvent(): void {
    if (this.log instanceof DiskLog) {
      this.bus.emit('mirror.log', {
        device: this.ctx.deviceName,
        log: this.log.logDev.name,
        health: this.log.healthChar(),
      });
    }
    this.ctx.raiseEvent();
  }

  // ---- state for tests and the TUI ------------------------------------------------------------------

  get defaultMirror(): number {
    return this.defaultLeg;
  }

  /** No worker pass running or due, and no region being recovered. */
  get idle(): boolean {
    return !this.workerRunning && this.rh.recoveriesInFlight === 0;
  }

  /** Resolves when the worker has nothing left to do (the kernel's flush_workqueue). */
  workerIdle(): Promise<void> {
    if (!this.workerRunning) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // ---- kmirrord -------------------------------------------------------------------------------------

  private wake(): void {
    this.wakePending = true;
    if (this.workerRunning) return;
    this.workerRunning = true;
    queueMicrotask(() => void this.runWorker());
  }

  private async runWorker(): Promise<void> {
    while (this.wakePending) {
      this.wakePending = false;
      await this.doMirror();
    }
    this.workerRunning = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async doMirror(): Promise<void> {
    const reads = this.reads.splice(0);
    const writes = this.writes.splice(0);
    const failures = this.failures.splice(0);
    await this.rh.updateStates(this.features.handleErrors);
    this.doRecovery();
    this.doReads(reads);
    await this.doWrites(writes);
    this.doFailures(failures);
    this.reportSync();
  }

  private doRecovery(): void {
    this.rh.recoveryPrepare();
    for (let reg = this.rh.recoveryStart(); reg; reg = this.rh.recoveryStart()) this.recover(reg);
    if (!this.inSync && this.log.getSyncCount() === this.nrRegions) {
      // The kernel's first pass runs from the constructor, before the table is bound: an event raised
      // then (a nosync mirror) is lost, so dmsim only raises it once the table has been resumed.
      if (this.resumedOnce) this.ctx.raiseEvent();
      this.inSync = true;
      this.resetLegs();
      this.reportSync(true);
    }
  }

  private recover(reg: Region<MirrorBio>): void {
    const source = this.defaultLeg;
    const regionSize = this.rh.regionSize;
    const sector = reg.key * regionSize;
    const count = reg.key === this.nrRegions - 1 ? this.targetLen - sector : regionSize;
    const from: IoRegion = { bdev: this.legs[source]!.dev.bdev, sector: this.legs[source]!.offset + sector, count };
    const dests: IoRegion[] = this.legs
      .filter((l) => l.index !== source)
      .map((l) => ({ bdev: l.dev.bdev, sector: l.offset + sector, count }));
    const job = this.kcopyd.copy(
      from,
      dests,
      { ignoreError: !this.features.handleErrors },
      (readErr, writeErr) => {
        if (readErr) this.failMirror(this.legs[source]!, 'sync');
        if (writeErr) {
          let bit = 0;
          for (const leg of this.legs) {
            if (leg.index === source) continue;
            if ((writeErr >>> bit) & 1) this.failMirror(leg, 'sync');
            bit++;
          }
        }
        const ok = !readErr && writeErr === 0;
        this.bus.emit('mirror.recovery', {
          device: this.ctx.deviceName,
          region: reg.key,
          phase: 'end',
          sector,
          count,
          source,
          job,
          ok,
          readErr,
          writeErr,
        });
        this.rh.recoveryEnd(reg, ok);
      },
      reg,
    );
    // After the submission, which names the job; the copy completes on a later worker pass.
    this.bus.emit('mirror.recovery', {
      device: this.ctx.deviceName,
      region: reg.key,
      phase: 'start',
      sector,
      count,
      source,
      job,
    });
  }

  private doReads(reads: MirrorBio[]): void {
    for (const mb of reads) {
      const state = this.rh.getState(mb.region);
      let leg: MirrorLeg | null = this.legs[this.defaultLeg]!;
      if (state === RH_CLEAN || state === RH_DIRTY) leg = this.chooseMirror();
      else if (leg.failed) leg = null;
      if (!leg) {
        mb.reject(
          this.eio(
            `cannot read sector ${mb.bio.sector}: region ${mb.region} is not in sync and the default leg has failed`,
          ),
        );
        continue;
      }
      this.readAsync(leg, mb);
    }
  }

  private readAsync(leg: MirrorLeg, mb: MirrorBio): void {
    leg.read(mb.bio.sector, mb.bio.buf!).then(mb.resolve, () => {
      this.failMirror(leg, 'read');
      if (this.defaultOk() || this.mirrorAvailable(mb.region)) {
        this.reads.push(mb);
        this.wake();
        return;
      }
      mb.reject(this.eio(`read of sector ${mb.bio.sector} failed on ${leg.name}; no other leg can serve it`));
    });
  }

  private async doWrites(writes: MirrorBio[]): Promise<void> {
    if (writes.length === 0) return;
    const sync: MirrorBio[] = [];
    const nosync: MirrorBio[] = [];
    const recover: MirrorBio[] = [];
    for (const mb of writes) {
      if (mb.bio.op === 'flush' || mb.bio.op === 'discard' || mb.bio.preflush) {
        sync.push(mb);
        continue;
      }
      const state = this.rh.getState(mb.region);
      if (state === RH_CLEAN || state === RH_DIRTY) sync.push(mb);
      else if (state === RH_NOSYNC) nosync.push(mb);
      else if (state === RH_RECOVERING) recover.push(mb);
    }
    for (const mb of [...sync, ...nosync]) if (isAccounted(mb.bio)) this.rh.inc(mb.region);
    // The dirty bits are on disk before any data write goes out. A failure sticks until the table is reloaded.
    try {
      await this.rh.flush();
    } catch {
      this.logFailure = true;
    }
    if (this.logFailure && this.features.handleErrors) {
      this.failures.push(...sync);
      if (sync.length) this.wake();
    } else {
      for (const mb of sync) this.doWrite(mb);
    }
    for (const mb of recover) this.rh.delay(mb.region, mb);
    for (const mb of nosync) {
      if (this.legFailure && this.features.handleErrors && !this.features.keepLog) {
        this.failures.push(mb);
        this.wake();
      } else {
        // Out of sync: only the default mirror gets it; its error goes straight back to the writer.
        this.legs[this.defaultLeg]!.submit(mb.bio).then(
          () => this.endWrite(mb, null),
          (e: unknown) =>
            this.endWrite(
              mb,
              this.eio(`write to out-of-sync region ${mb.region} failed on the default leg: ${String(e)}`),
            ),
        );
      }
    }
  }

  /** Writes to every leg at once (dm-io); legs that failed get a write error and the bio goes to failures. */
  private doWrite(mb: MirrorBio): void {
    mb.tried = true;
    void Promise.allSettled(this.legs.map((l) => l.submit(mb.bio))).then((results) => {
      const failedLegs = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
      if (failedLegs.length === 0) return this.endWrite(mb, null);
      // write_callback: a discard that failed on any leg ends BLK_STS_NOTSUPP and fails no leg.
      if (mb.bio.op === 'discard')
        return this.endWrite(
          mb,
          new NotSupportedError(`discard of sector ${mb.bio.sector}: not supported by every leg`),
        );
      for (const i of failedLegs) this.failMirror(this.legs[i]!, 'write');
      this.failures.push(mb);
      this.wake();
    });
  }

  private doFailures(failures: MirrorBio[]): void {
    for (const mb of failures) {
      if (!this.logFailure) {
        this.inSync = false;
        const op =
          mb.bio.op === 'flush' || mb.bio.preflush ? 'preflush' : mb.bio.op === 'discard' ? 'discard' : 'write';
        this.rh.markNosync(mb.region, op);
      }
      if (!this.validMirror() || (this.features.keepLog && this.logFailure)) {
        this.endWrite(
          mb,
          this.eio(
            `write to sector ${mb.bio.sector} failed: ${this.logFailure ? 'the log has failed' : 'every leg has failed'}`,
          ),
        );
      } else if (this.features.handleErrors && !this.features.keepLog) {
        this.holdBio(mb);
      } else {
        // The data is on at least one leg: the writer sees success.
        this.endWrite(mb, null);
      }
    }
  }

  /** Keeps a failed write until userspace repairs the mirror; at suspend, requeue (noflush) or fail it. */
  private holdBio(mb: MirrorBio): void {
    if (!this.suspending) {
      this.holds.push(mb);
      return;
    }
    if (this.noflushSuspend) this.reissue(mb);
    else this.endWrite(mb, this.eio(`write to sector ${mb.bio.sector} was held after a failure and failed at suspend`));
  }

  /**
   * DIFFERENCE from the kernel: at a noflush suspend the kernel requeues held writes to the core, which
   * reissues them through the next live table (LVM's repair). dmsim's core has no requeue path, so the
   * mirror finishes the write as that reissue would: a write already tried is on every healthy leg and
   * completes; an untried one (held after a log failure) is written to the healthy legs first.
   */
  private reissue(mb: MirrorBio): void {
    if (mb.tried) return this.endWrite(mb, null);
    const healthy = this.legs.filter((l) => !l.failed);
    void Promise.allSettled(healthy.map((l) => l.submit(mb.bio))).then((results) => {
      const ok = results.some((r) => r.status === 'fulfilled');
      this.endWrite(mb, ok ? null : this.eio(`write to sector ${mb.bio.sector} failed on every healthy leg`));
    });
  }

  /** mirror_end_io for writes: release the region, then complete. */
  private endWrite(mb: MirrorBio, error: DmError | null): void {
    if (isAccounted(mb.bio)) this.rh.dec(mb.region);
    if (error) mb.reject(error);
    else mb.resolve();
  }

  private queueRead(bio: Bio, region: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.reads.push({ bio, region, resolve, reject });
      this.wake();
    });
  }

  // ---- legs -----------------------------------------------------------------------------------------

  /** choose_mirror: the default leg if healthy, else walking down from it (wrapping) to the first healthy leg. */
  private chooseMirror(): MirrorLeg | null {
    const n = this.legs.length;
    for (let i = 0; i < n; i++) {
      const leg = this.legs[(this.defaultLeg - i + n) % n]!;
      if (!leg.failed) return leg;
    }
    return null;
  }

  private defaultOk(): boolean {
    return !this.legs[this.defaultLeg]!.failed;
  }

  private mirrorAvailable(region: number): boolean {
    return this.log.inSync(region) && this.chooseMirror() !== null;
  }

  /** get_valid_mirror: the lowest-index leg without errors. */
  private validMirror(): MirrorLeg | null {
    return this.legs.find((l) => !l.failed) ?? null;
  }

  /** fail_mirror: count the error; with handle_errors also switch the default mirror and raise an event. */
  private failMirror(leg: MirrorLeg, type: LegErrorType): void {
    this.legFailure = true;
    const isNew = leg.recordError(type);
    if (!isNew) return;
    this.emitLeg(leg, type);
    if (!this.features.handleErrors) return;
    if (leg.index === this.defaultLeg && (this.inSync || this.features.keepLog)) {
      const next = this.validMirror();
      if (next) {
        this.defaultLeg = next.index;
        this.emitLeg(next, 'default');
      }
    }
    this.ctx.raiseEvent();
  }

  private resetLegs(): void {
    this.legFailure = false;
    for (const leg of this.legs) {
      const wasFailed = leg.failed;
      leg.reset();
      if (wasFailed) this.emitLeg(leg, 'reset');
    }
  }

  private emitLeg(leg: MirrorLeg, reason: LegErrorType | 'default' | 'reset'): void {
    this.bus.emit('mirror.leg', {
      device: this.ctx.deviceName,
      leg: leg.index,
      name: leg.name,
      health: leg.health(),
      reason,
      defaultLeg: this.defaultLeg,
    });
  }

  private reportSync(complete = false): void {
    const count = this.log.getSyncCount();
    if (count === this.lastSyncCount && !complete) return;
    this.lastSyncCount = count;
    this.bus.emit('mirror.sync', { device: this.ctx.deviceName, inSync: count, total: this.nrRegions, complete });
  }

  private eio(what: string): DmError {
    return new IoError(`${this.ctx.deviceName}: mirror: ${what}`);
  }
}

/** The `mirror` target type, version 1.14.0 as in Linux 6.1. */
export const mirrorTargetType: TargetType = {
  name: 'mirror',
  version: [1, 14, 0],
  async create(ctx: TargetContext, args: string[]): Promise<Target> {
    return MirrorSet.create(ctx, args);
  },
};
