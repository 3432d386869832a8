// MappedDevice: one named device-mapper device (drivers/md/dm.c's struct mapped_device with dm-ioctl's
// live/inactive table slots): loads, suspend/resume with table swap, I/O submission split at target and
// max_io_len boundaries, held I/O while suspended, the event counter `wait` sleeps on, the open count (and a
// deferred remove waiting for it to reach 0), and the dm-stats regions every request is counted in.

import type { Clock } from '../base/clock.js';
import { DmError, InvalidArgumentError, IoError, NoDeviceError, NotSupportedError } from '../base/errors.js';
import type { EventBus } from '../base/events.js';
import { SECTOR_SIZE } from '../base/size.js';
import { type BlockDevice, type DiscardLimits, NO_DISCARDS } from '../block/block-device.js';
import type { Bio } from './bio.js';
import { DIRECT_WRITE_FLAGS, SYNC_IO_FLAGS } from './bio-flags.js';
import type { TableDiscards } from './discard-limits.js';
import { DmStats } from './dm-stats.js';
import type { DmTable, TableTarget } from './table.js';

declare module '../base/events.js' {
  interface DmEventMap {
    /** A table was loaded into the inactive slot. */
    'dm.loaded': { device: string; targets: number; sizeSectors: number };
    /** The inactive table became live (the old live table, if any, is destroyed after the resume). */
    'dm.table_swapped': { device: string; targets: number; sizeSectors: number };
    'dm.suspended': { device: string; noflush: boolean };
    'dm.resumed': { device: string };
    /** dm_table_event: the event counter moved (a target reported something `wait` should see). */
    'dm.event': { device: string; eventNr: number };
    /** A read or write request completed without error (what the TUI's read and write rates count). */
    'dm.io': { device: string; op: 'read' | 'write'; sector: number; count: number };
  }
}

export interface MappedDeviceOptions {
  name: string;
  minor: number;
  uuid?: string;
  readOnly: boolean;
  bus: EventBus;
  clock: Clock;
  /** Called when the open count drops to 0 (dm_blk_close's check for a deferred remove). */
  onUnused?: (md: MappedDevice) => void;
}

/** One request as it enters the device (what `open()` and stacked tables send): a bio with an absolute sector. */
export type DeviceRequest = Bio;

export class MappedDevice {
  private deviceName: string;
  readonly minor: number;
  private deviceUuid: string | undefined;
  readonly readOnly: boolean;
  /** md->stats: the regions `@stats_*` messages manage; every request is counted in them. */
  readonly stats: DmStats;
  private readonly bus: EventBus;
  private readonly onUnused: ((md: MappedDevice) => void) | undefined;
  /** DMF_DEFERRED_REMOVE: remove the device when its open count reaches 0. */
  private deferredRemoveFlag = false;
  private liveTable: DmTable | undefined;
  private inactiveTable: DmTable | undefined;
  private suspendedFlag = false;
  private removed = false;
  private eventCounter = 0;
  /** A Set, so a `wait` whose caller gave up is dropped at once instead of piling up until the next event. */
  private readonly eventWaiters = new Set<() => void>();
  /** QUEUE_FLAG_WC, set when a table becomes live (dm_table_set_restrictions); see BlockDevice.writeCache. */
  private writeBack = true;
  /** The queue's discard limits, set when a table becomes live (dm_table_set_restrictions); none before. */
  private discardSupport: TableDiscards = { limits: NO_DISCARDS, refusal: 'it has no table' };
  private openers = 0;
  private holders = 0;
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  private resumeWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** md->suspend_lock: load, suspend, resume and remove run one at a time. */
  private lock: Promise<void> = Promise.resolve();

  constructor(options: MappedDeviceOptions) {
    this.deviceName = options.name;
    this.minor = options.minor;
    this.deviceUuid = options.uuid;
    this.readOnly = options.readOnly;
    this.bus = options.bus;
    this.stats = new DmStats(options.clock);
    this.onUnused = options.onUnused;
  }

  /** The name; dmsetup rename changes it (DeviceMapperCore.rename keeps the name map in step). */
  get name(): string {
    return this.deviceName;
  }

  setName(name: string): void {
    this.deviceName = name;
  }

  get uuid(): string | undefined {
    return this.deviceUuid;
  }

  /** dmsetup rename --setuuid: a device without a uuid may be given one. */
  setUuid(uuid: string): void {
    this.deviceUuid = uuid;
  }

  get live(): DmTable | undefined {
    return this.liveTable;
  }

  get inactive(): DmTable | undefined {
    return this.inactiveTable;
  }

  get suspended(): boolean {
    return this.suspendedFlag;
  }

  get eventNr(): number {
    return this.eventCounter;
  }

  get writeCache(): boolean {
    return this.writeBack;
  }

  get discardLimits(): DiscardLimits {
    return this.discardSupport.limits;
  }

  /** Openers plus tables of other devices that hold this one, as the kernel's open count shows. */
  get openCount(): number {
    return this.openers + this.holders;
  }

  /** Set by `remove --deferred` on an open device; `@cancel_deferred_remove` clears it. */
  get deferredRemove(): boolean {
    return this.deferredRemoveFlag;
  }

  set deferredRemove(on: boolean) {
    this.deferredRemoveFlag = on;
  }

  get sizeSectors(): number {
    return this.liveTable?.sizeSectors ?? 0;
  }

  /** Runs fn with the device's lock held. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Puts a built table in the inactive slot, destroying any table that was there (dm-ioctl table_load). */
  async load(table: DmTable): Promise<void> {
    this.checkPresent();
    const old = this.inactiveTable;
    this.inactiveTable = table;
    this.bus.emit('dm.loaded', { device: this.name, targets: table.targets.length, sizeSectors: table.sizeSectors });
    await old?.destroy();
  }

  /** dmsetup clear: drops the inactive table. */
  async clearInactive(): Promise<void> {
    const old = this.inactiveTable;
    this.inactiveTable = undefined;
    await old?.destroy();
  }

  /**
   * dm_suspend: presuspend the live targets, hold new I/O, wait for the I/O in flight, postsuspend.
   * Suspending a suspended device does nothing, as in the kernel.
   */
  async suspend(noflush: boolean): Promise<void> {
    this.checkPresent();
    if (this.suspendedFlag) return;
    await this.liveTable?.presuspend(noflush);
    this.suspendedFlag = true;
    await this.drain();
    await this.liveTable?.postsuspend();
    this.bus.emit('dm.suspended', { device: this.name, noflush });
  }

  /**
   * do_resume: with an inactive table, suspend if needed and swap it in; then (if suspended) run every
   * preresume and resume hook and release the held I/O. The old live table is destroyed at the end.
   * A failing preresume leaves the device suspended with the new table live.
   */
  async resume(): Promise<void> {
    this.checkPresent();
    let old: DmTable | undefined;
    let swapped = false;
    if (this.inactiveTable) {
      // A device without a live table has no targets to quiesce: it is only marked suspended, as dm_suspend does.
      if (this.liveTable) await this.suspend(false);
      else this.suspendedFlag = true;
      old = this.liveTable;
      this.liveTable = this.inactiveTable;
      this.inactiveTable = undefined;
      this.writeBack = supportsFlush(this.liveTable);
      this.discardSupport = this.liveTable.discards;
      swapped = true;
      this.bus.emit('dm.table_swapped', {
        device: this.name,
        targets: this.liveTable.targets.length,
        sizeSectors: this.liveTable.sizeSectors,
      });
    }
    // dm_resume of a suspended device without a table: EINVAL, and it stays suspended.
    if (this.suspendedFlag && !this.liveTable) {
      throw new InvalidArgumentError(`${this.name}: cannot resume a device that has no table; load one first`);
    }
    try {
      if ((this.suspendedFlag || swapped) && this.liveTable) {
        await this.liveTable.resumeTargets();
        this.suspendedFlag = false;
        for (const w of this.resumeWaiters.splice(0)) w.resolve();
        this.bus.emit('dm.resumed', { device: this.name });
      }
    } finally {
      await old?.destroy();
    }
  }

  /** dm_table_event: bumps the event counter and wakes every `wait`. */
  raiseEvent(): void {
    this.eventCounter++;
    this.bus.emit('dm.event', { device: this.name, eventNr: this.eventCounter });
    this.wakeWaiters();
  }

  /**
   * dev_wait: resolves with the counter once it differs from eventNr (at once if it already does). An aborted
   * signal (the caller went away, as a process killed in the ioctl leaves the kernel's wait queue) rejects and
   * forgets the waiter.
   */
  async waitEvent(eventNr: number, signal?: AbortSignal): Promise<number> {
    while (this.eventCounter === eventNr) {
      this.checkPresent();
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.eventWaiters.delete(wake);
          reject(signal!.reason);
        };
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.eventWaiters.add(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    this.checkPresent();
    return this.eventCounter;
  }

  private wakeWaiters(): void {
    const waiters = [...this.eventWaiters];
    this.eventWaiters.clear();
    for (const w of waiters) w();
  }

  /** Counts an opener (open()) or a table of another device holding this one. */
  hold(kind: 'opener' | 'holder'): void {
    if (kind === 'opener') this.openers++;
    else this.holders++;
  }

  unhold(kind: 'opener' | 'holder'): void {
    if (kind === 'opener') this.openers = Math.max(0, this.openers - 1);
    else this.holders = Math.max(0, this.holders - 1);
    if (this.openCount === 0) this.onUnused?.(this);
  }

  /**
   * Tears the device down (dm_destroy): suspends the live table's targets, fails any held I/O and wakes
   * waiters with ENXIO, destroys both tables. The caller has checked the open count.
   */
  async destroy(): Promise<void> {
    if (this.removed) return;
    if (!this.suspendedFlag && this.liveTable) {
      await this.liveTable.presuspend(false);
      await this.drain();
      await this.liveTable.postsuspend();
    }
    this.removed = true;
    const gone = new NoDeviceError(`${this.name}: device was removed`);
    for (const w of this.resumeWaiters.splice(0)) w.reject(gone);
    this.wakeWaiters();
    const tables = [this.inactiveTable, this.liveTable];
    this.inactiveTable = undefined;
    this.liveTable = undefined;
    for (const t of tables) await t?.destroy();
  }

  /**
   * Serves one request: held while suspended; refused when out of range or misaligned; split at target and
   * max_io_len boundaries; each piece remapped relative to its target. Fails as a whole if any piece fails,
   * with an io.error event for every failed piece.
   */
  async submit(req: DeviceRequest): Promise<void> {
    this.checkShape(req);
    // submit_bio_noacct: a discard to a queue without discard support fails with EOPNOTSUPP at once, before the
    // device could hold it or any target sees it.
    if (req.op === 'discard' && this.discardSupport.limits.maxSectors === 0) {
      throw this.refused(
        req,
        new NotSupportedError(`the device does not support discards (${this.discardSupport.refusal})`),
      );
    }
    if (!this.writeBack && (req.op === 'flush' || req.preflush || req.fua)) {
      // submit_bio_noacct: without a volatile write cache there is nothing to flush.
      if (req.op === 'flush') return;
      req = { ...req, preflush: false, fua: false };
    }
    while (this.suspendedFlag) {
      await new Promise<void>((resolve, reject) => this.resumeWaiters.push({ resolve, reject }));
    }
    this.checkPresent();
    const table = this.liveTable;
    if (!table) throw this.refused(req, new IoError('the device has no live table'));
    if (req.sector + req.count > table.sizeSectors) {
      throw this.refused(req, new IoError(`beyond the end of the device (${table.sizeSectors} sectors)`));
    }
    // The block layer answers EPERM for a write to a read-only disk (6.1: "Operation not permitted").
    if (req.op !== 'read' && this.readOnly) throw this.refused(req, new DmError('EPERM', 'the device is read-only'));
    this.inFlight++;
    // dm_io_acct: a flush carries no sectors; a discard counts as a write (bio_data_dir).
    const accounted =
      req.op === 'flush' ? undefined : this.stats.start(req.op === 'read' ? 'read' : 'write', req.sector, req.count);
    try {
      if (req.op === 'flush' || req.preflush) await this.run(req, flushPieces(table));
      if (req.op !== 'flush') await this.run(req, splitRequest(table, req));
      if (req.op === 'read' || req.op === 'write')
        this.bus.emit('dm.io', { device: this.name, op: req.op, sector: req.sector, count: req.count });
    } finally {
      if (accounted) this.stats.end(accounted);
      if (--this.inFlight === 0) for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  /** A BlockDevice over this device: for open(name) (an opener) and for tables that stack on it (a holder). */
  blockDevice(kind: 'opener' | 'holder', displayName: string): MappedBlockDevice {
    return new MappedBlockDevice(this, kind, displayName);
  }

  private async run(req: DeviceRequest, pieces: Piece[]): Promise<void> {
    // async: a target that throws instead of rejecting still fails only its piece.
    const results = await Promise.allSettled(pieces.map(async (p) => p.target.target.map(p.bio)));
    let first: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      const p = pieces[i]!;
      const e = r.reason;
      const code = e instanceof DmError ? e.code : 'EIO';
      const message = e instanceof Error ? e.message : String(e);
      this.bus.emit('io.error', {
        device: this.name,
        op: p.bio.op,
        sector: p.target.begin + p.bio.sector,
        count: p.bio.count,
        code,
        message,
      });
      first ??= e;
    });
    if (first !== undefined) throw this.ioError(req, first);
  }

  private drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  private checkPresent(): void {
    if (this.removed) throw new NoDeviceError(`${this.name}: no such device (it was removed)`);
  }

  private checkShape(req: DeviceRequest): void {
    const bad = (why: string): never => {
      throw this.reported(req, new IoError(`${this.name}: ${req.op} at sector ${req.sector}: ${why}`));
    };
    if (!Number.isSafeInteger(req.sector) || req.sector < 0) bad('not a valid sector number');
    if (req.op === 'read' || req.op === 'write') {
      if (!req.buf) bad('no data buffer');
      if (req.buf!.length % SECTOR_SIZE !== 0)
        bad(`length ${req.buf!.length} bytes is not a multiple of ${SECTOR_SIZE}`);
    }
    if (!Number.isSafeInteger(req.count) || req.count < 0) bad(`not a valid sector count (${req.count})`);
    if (req.buf && req.buf.length !== req.count * SECTOR_SIZE)
      bad(`buffer of ${req.buf.length} bytes for ${req.count} sectors`);
  }

  /** A request refused before it reached any target: reported as an io.error, returned to throw. */
  private refused(req: DeviceRequest, cause: DmError): DmError {
    return this.reported(req, this.ioError(req, cause));
  }

  /** Emits e as the request's io.error; returns it to throw. */
  private reported(req: DeviceRequest, e: DmError): DmError {
    this.bus.emit('io.error', {
      device: this.name,
      op: req.op,
      sector: req.sector,
      count: req.count,
      code: e.code,
      message: e.message,
    });
    return e;
  }

  /** The error a failed request reports: names the device, the op and the sector; keeps the cause's code. */
  private ioError(req: DeviceRequest, cause: unknown): DmError {
    const why = cause instanceof Error ? cause.message : String(cause);
    const text = `${this.name}: ${req.op} of ${req.count} sectors at sector ${req.sector} failed: ${why}`;
    if (cause instanceof DmError && cause.code !== 'EIO') return new DmError(cause.code, text);
    return new IoError(text);
  }
}

interface Piece {
  target: TableTarget;
  bio: Bio;
}

/** __split_and_process_bio: one piece per target and per max_io_len window, sectors relative to the target. */
function splitRequest(table: DmTable, req: DeviceRequest): Piece[] {
  const pieces: Piece[] = [];
  const end = req.sector + req.count;
  for (let s = req.sector; s < end; ) {
    const t = table.targetAt(s);
    const rel = s - t.begin;
    let n = Math.min(t.begin + t.len - s, end - s);
    const max = t.target.maxIoSectors;
    if (max > 0) n = Math.min(n, max - (rel % max));
    const off = (s - req.sector) * SECTOR_SIZE;
    const bio: Bio = { op: req.op, sector: rel, count: n };
    if (req.buf) bio.buf = req.buf.subarray(off, off + n * SECTOR_SIZE);
    if (req.fua) bio.fua = true;
    if (req.flags) bio.flags = req.flags;
    pieces.push({ target: t, bio });
    s += n;
  }
  return pieces;
}

/**
 * dm_table_supports_flush: the device gets a write cache when any device a target maps (iterate_devices) has one.
 * DIFFERENCE: a table that maps no device at all (error, zero) has no write cache in the kernel; here it keeps
 * one, so flushes still reach its targets, which complete them as the kernel's block layer would.
 */
function supportsFlush(table: DmTable): boolean {
  const devices = table.targets.flatMap((t) => t.target.deviceAreas?.().map((a) => a.device) ?? t.target.devices());
  return devices.length === 0 || devices.some((d) => d.bdev.writeCache !== false);
}

/** __send_empty_flush: one empty flush bio (REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC) to every target. */
function flushPieces(table: DmTable): Piece[] {
  return table.targets.map((t) => ({ target: t, bio: { op: 'flush', sector: 0, count: 0, flags: SYNC_IO_FLAGS } }));
}

/** The block-device face of a mapped device (/dev/mapper/NAME): requests go through MappedDevice.submit. */
export class MappedBlockDevice implements BlockDevice {
  readonly name: string;
  private readonly md: MappedDevice;
  private readonly kind: 'opener' | 'holder';
  private closed = false;

  constructor(md: MappedDevice, kind: 'opener' | 'holder', name: string) {
    this.md = md;
    this.kind = kind;
    this.name = name;
    md.hold(kind);
  }

  get device(): MappedDevice {
    return this.md;
  }

  get sizeSectors(): number {
    return this.md.sizeSectors;
  }

  get readOnly(): boolean {
    return this.md.readOnly;
  }

  get writeCache(): boolean {
    return this.md.writeCache;
  }

  get discardLimits(): DiscardLimits {
    return this.md.discardLimits;
  }

  read(sector: number, buf: Buffer): Promise<void> {
    return this.io({ op: 'read', sector, count: buf.length / SECTOR_SIZE, buf });
  }

  /**
   * A plain write. An opener is a program writing /dev/mapper/NAME with O_DIRECT (the CLI, the library, an NBD
   * export), so its bio carries REQ_SYNC | REQ_IDLE; a holder's is dm-io's or kcopyd's async write, with none.
   */
  write(sector: number, buf: Buffer): Promise<void> {
    const count = buf.length / SECTOR_SIZE;
    if (this.kind === 'holder') return this.io({ op: 'write', sector, count, buf });
    return this.io({ op: 'write', sector, count, buf, flags: DIRECT_WRITE_FLAGS });
  }

  flush(): Promise<void> {
    return this.io({ op: 'flush', sector: 0, count: 0 });
  }

  discard(sector: number, count: number): Promise<void> {
    return this.io({ op: 'discard', sector, count });
  }

  /** Any request, with FUA or PREFLUSH if wanted. */
  submit(req: DeviceRequest): Promise<void> {
    return this.io(req);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.md.unhold(this.kind);
  }

  private io(req: DeviceRequest): Promise<void> {
    if (this.closed) return Promise.reject(new IoError(`${this.name}: device is closed`));
    // A table's request to the device below it starts after the caller's turn, not inside it: submit_bio_noacct
    // queues a bio submitted from within a submit_bio on current->bio_list and issues it once the caller returns,
    // so a stack of any depth never nests one device's submission in another's (nor the JavaScript stack here).
    if (this.kind === 'holder') return Promise.resolve().then(() => this.md.submit(req));
    return this.md.submit(req);
  }
}
