// RegionHash: the mirror's in-memory region states (drivers/md/dm-region-hash.c). A region with no entry
// takes its state from the dirty log (in sync: CLEAN, otherwise NOSYNC). Entries carry a pending-write
// count and the writes delayed while the region recovers. Regions move through the kernel's lists:
// clean (idle, to be cleared in the log), quiesced (ready to copy), recovered and failed-recovered.

import type { DirtyLog } from './dirty-log.js';

export const RH_CLEAN = 1;
export const RH_DIRTY = 2;
export const RH_NOSYNC = 4;
export const RH_RECOVERING = 8;
export type RegionStateName = 'clean' | 'dirty' | 'nosync' | 'recovering';
export type RegionState = typeof RH_CLEAN | typeof RH_DIRTY | typeof RH_NOSYNC | typeof RH_RECOVERING;

export function regionStateName(state: RegionState): RegionStateName {
  return state === RH_CLEAN ? 'clean' : state === RH_DIRTY ? 'dirty' : state === RH_NOSYNC ? 'nosync' : 'recovering';
}

/** A region taken for recovery: the mirror copies it and reports back with recoveryEnd. */
export interface Region<T> {
  readonly key: number;
  state: RegionState;
  pending: number;
  delayed: T[];
}

export interface RegionHashHooks<T> {
  /** Requeues writes that waited for a recovering region (dispatch_bios). */
  dispatchBios(bios: T[]): void;
  /** Wakes the mirror's worker (wakeup_workers). */
  wakeup(): void;
  /** A region's state changed (for events and the TUI's region map). */
  stateChanged?(region: number, state: RegionState): void;
}

/** A counting semaphore with async waiters (the kernel's recovery_count). */
class Semaphore {
  private count = 0;
  private readonly waiters: (() => void)[] = [];
  tryDown(): boolean {
    if (this.count === 0) return false;
    this.count--;
    return true;
  }
  down(): Promise<void> {
    if (this.tryDown()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  up(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.count++;
  }
}

export class RegionHash<T> {
  readonly log: DirtyLog;
  readonly regionSize: number;
  private readonly maxRecovery: number;
  private readonly hooks: RegionHashHooks<T>;
  private readonly regions = new Map<number, Region<T>>();
  private clean = new Set<Region<T>>();
  private quiesced = new Set<Region<T>>();
  private recovered = new Set<Region<T>>();
  private failedRecovered = new Set<Region<T>>();
  private readonly recoveryCount = new Semaphore();
  private recoveryInFlight = 0;
  /** A PREFLUSH write failed: regions that go idle can no longer be trusted clean. */
  private flushFailure = false;

  constructor(log: DirtyLog, maxRecovery: number, hooks: RegionHashHooks<T>) {
    this.log = log;
    this.regionSize = log.regionSize;
    this.maxRecovery = maxRecovery;
    this.hooks = hooks;
  }

  /** Region of a sector relative to the target start. */
  sectorToRegion(sector: number): number {
    return Math.floor(sector / this.regionSize);
  }

  getState(region: number): RegionState {
    const reg = this.regions.get(region);
    if (reg) return reg.state;
    return this.log.inSync(region) ? RH_CLEAN : RH_NOSYNC;
  }

  /** Writes in flight to the region (0 for a region with no entry). */
  pendingWrites(region: number): number {
    return this.regions.get(region)?.pending ?? 0;
  }

  /** The number of entries (regions with a state other than "clean per the log"), for tests. */
  get entryCount(): number {
    return this.regions.size;
  }

  /** Write accounting: each write to a region holds it dirty until dec(). CLEAN -> DIRTY marks the log. */
  inc(region: number): void {
    const reg = this.find(region);
    reg.pending++;
    if (reg.state === RH_CLEAN) {
      this.setState(reg, RH_DIRTY);
      this.clean.delete(reg);
      this.log.markRegion(region);
    }
  }

  dec(region: number): void {
    const reg = this.regions.get(region);
    if (!reg) throw new Error(`region hash: dec of region ${region} without an entry`);
    if (--reg.pending > 0) return;
    if (this.flushFailure) {
      // A flush failed some time ago: whether this write reached the disk is unknown; resync it.
      this.setState(reg, RH_NOSYNC);
    } else if (reg.state === RH_RECOVERING) {
      this.quiesced.add(reg);
    } else if (reg.state === RH_DIRTY) {
      this.setState(reg, RH_CLEAN);
      this.clean.add(reg);
    }
    this.hooks.wakeup();
  }

  /**
   * A write reached some legs but not all (dm_rh_mark_nosync): the region is out of sync and must not be
   * cleaned. A failed PREFLUSH only sets flush_failure; a failed discard changes nothing.
   */
  markNosync(region: number, op: 'write' | 'preflush' | 'discard'): void {
    if (op === 'preflush') {
      this.flushFailure = true;
      return;
    }
    if (op === 'discard') return;
    this.log.setRegionSync(region, false);
    const reg = this.find(region);
    const recovering = reg.state === RH_RECOVERING;
    this.setState(reg, RH_NOSYNC);
    this.clean.delete(reg);
    if (recovering) this.completeResyncWork(reg, false);
  }

  /** dm_rh_update_states: retire clean and recovered regions, then flush the log (its result is ignored here). */
  async updateStates(errorsHandled: boolean): Promise<void> {
    const clean = this.takeAll('clean');
    const recovered = this.takeAll('recovered');
    const failed = this.takeAll('failedRecovered');
    for (const reg of recovered) {
      this.log.clearRegion(reg.key);
      this.completeResyncWork(reg, true);
    }
    for (const reg of failed) this.completeResyncWork(reg, !errorsHandled);
    for (const reg of clean) this.log.clearRegion(reg.key);
    try {
      await this.log.flush();
    } catch {
      // The log records its own failure (status D/F); the next write's flush reports it to the mirror.
    }
  }

  /** Starts quiescing regions for recovery while recovery slots are free (dm_rh_recovery_prepare). */
  recoveryPrepare(): void {
    while (this.recoveryCount.tryDown()) {
      this.recoveryInFlight++;
      const region = this.log.getResyncWork();
      if (region === null) {
        this.recoveryInFlight--;
        this.recoveryCount.up();
        break;
      }
      const reg = this.find(region);
      this.setState(reg, RH_RECOVERING);
      this.clean.delete(reg);
      if (reg.pending === 0) this.quiesced.add(reg);
    }
  }

  /** A quiesced region ready to copy, or null. */
  recoveryStart(): Region<T> | null {
    const first = this.quiesced.values().next();
    if (first.done) return null;
    this.quiesced.delete(first.value);
    return first.value;
  }

  recoveryEnd(reg: Region<T>, success: boolean): void {
    (success ? this.recovered : this.failedRecovered).add(reg);
    this.hooks.wakeup();
  }

  get recoveriesInFlight(): number {
    return this.recoveryInFlight;
  }

  /** Persists the log; rejects if it could not be written. */
  flush(): Promise<void> {
    return this.log.flush();
  }

  /** Parks a write until its region's recovery completes. */
  delay(region: number, bio: T): void {
    this.find(region).delayed.push(bio);
  }

  /** Waits until no recovery is in flight and takes every slot, so no new one starts (presuspend). */
  async stopRecovery(): Promise<void> {
    for (let i = 0; i < this.maxRecovery; i++) await this.recoveryCount.down();
  }

  startRecovery(): void {
    for (let i = 0; i < this.maxRecovery; i++) this.recoveryCount.up();
    this.hooks.wakeup();
  }

  private completeResyncWork(reg: Region<T>, success: boolean): void {
    this.log.setRegionSync(reg.key, success);
    this.regions.delete(reg.key);
    this.hooks.stateChanged?.(reg.key, success ? RH_CLEAN : RH_NOSYNC);
    const delayed = reg.delayed;
    reg.delayed = [];
    this.hooks.dispatchBios(delayed);
    this.recoveryInFlight--;
    this.recoveryCount.up();
  }

  private find(region: number): Region<T> {
    let reg = this.regions.get(region);
    if (!reg) {
      reg = { key: region, state: this.log.inSync(region) ? RH_CLEAN : RH_NOSYNC, pending: 0, delayed: [] };
      this.regions.set(region, reg);
      if (reg.state === RH_CLEAN) this.clean.add(reg);
    }
    return reg;
  }

  private setState(reg: Region<T>, state: RegionState): void {
    if (reg.state === state) return;
    reg.state = state;
    this.hooks.stateChanged?.(reg.key, state);
  }

  private takeAll(list: 'clean' | 'recovered' | 'failedRecovered'): Region<T>[] {
    const taken = [...this[list]];
    this[list] = new Set();
    for (const reg of taken) this.regions.delete(reg.key);
    return taken;
  }
}
