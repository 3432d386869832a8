// Snapshot: the `snapshot` target (mirrors the snapshot half of drivers/md/dm-snap.c): reads come from the COW
// when the chunk has an exception, else from the origin; writes allocate a COW chunk and copy the origin chunk
// there first (unless the write covers the whole chunk); origin writes ask it for copies through the
// origin registry. A full or failing store invalidates it (or, for PO snapshot writes, overflows it).
// The `snapshot-merge` target (merge.ts) extends it.

import { DmError, InvalidArgumentError, IoError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import type { BlockDevice, DiscardLimits } from '../../src/block/block-device.js';
import type { Bio } from '../../src/dm/bio.js';
import { getArgDevice, TargetArgumentError } from '../../src/dm/dm-args.js';
import type {
  DeviceArea,
  DmDevice,
  StatusType,
  Target,
  TargetContext,
  TargetInspection,
  TargetType,
} from '../../src/dm/target.js';
import type { KcopydClient } from '../../src/kcopyd/types.js';
import { ChunkTracker } from './chunk-tracker.js';
import type { ExceptionStore } from './exception-store.js';
import { ExceptionTable } from './exception-table.js';
import './events.js';
import { type InspectedException, type SnapshotInspection, snapshotInspection } from './inspect.js';
import { type OriginRegistry, type RegisteredSnapshot, registryFor, sameDevice, settleAll } from './origin-registry.js';
import { snapshotParameters } from './parameters.js';
import { PendingException } from './pending-exception.js';
import { PersistentStore, readCowHeader } from './persistent-store.js';
import { parseSnapshotArgs, type SnapshotArgs } from './snapshot-args.js';
import { formatSnapshotStatus, formatSnapshotTable } from './status.js';
import { TransientStore } from './transient-store.js';

type AllocationCause = 'origin-write' | 'snapshot-write' | 'merge';

export class Snapshot implements Target, RegisteredSnapshot {
  readonly merging: boolean = false;
  /** Who the kcopyd jobs belong to in events and the TUI: COW copies here, merge copies in snapshot-merge. */
  protected static readonly kcopydOwner: string = 'snapshot';
  readonly origin: DmDevice;
  readonly cow: DmDevice;
  store: ExceptionStore;
  valid = true;
  overflowed = false;
  mergeFailed = false;
  active = false;
  /** Between postsuspend and resume (a handover source must be suspended). */
  suspended = false;
  /** Completed exceptions: origin chunk -> COW chunk (the kernel's s->complete). */
  readonly complete = new ExceptionTable();
  /** Copies in flight, by origin chunk (s->pending). */
  readonly pending = new Map<number, PendingException>();
  protected readonly ctx: TargetContext;
  protected readonly kcopyd: KcopydClient;
  protected readonly tracker = new ChunkTracker();
  protected readonly registry: OriginRegistry;
  private readonly discardZeroesCow: boolean;
  private readonly discardPassdownOrigin: boolean;
  /** Loaded while an active snapshot used the same COW: gets its exceptions at resume (handover). */
  private handoverDestination: boolean;
  private nextSequence = 0;
  private nextCommit = 0;
  private readonly copiesDone = new Map<number, { pe: PendingException; ok: boolean }>();
  private dropping: Promise<void> = Promise.resolve();
  /** Copies (and whole-chunk writes) in flight, and the writes waiting for that number to drop. */
  private inProgress = 0;
  private inProgressWaiters: Array<() => void> = [];

  protected constructor(
    ctx: TargetContext,
    a: SnapshotArgs,
    origin: DmDevice,
    cow: DmDevice,
    store: ExceptionStore,
    handover: boolean,
  ) {
    this.ctx = ctx;
    this.origin = origin;
    this.cow = cow;
    this.store = store;
    this.discardZeroesCow = a.discardZeroesCow;
    this.discardPassdownOrigin = a.discardPassdownOrigin;
    this.handoverDestination = handover;
    this.kcopyd = ctx.kcopyd.createClient({ owner: (new.target as typeof Snapshot).kcopydOwner });
    this.registry = registryFor(ctx);
  }

  /** snapshot_ctr, shared with snapshot-merge. */
  protected static async build<T extends Snapshot>(
    ctx: TargetContext,
    args: string[],
    merging: boolean,
    make: (a: SnapshotArgs, origin: DmDevice, cow: DmDevice, store: ExceptionStore, handover: boolean) => T,
  ): Promise<T> {
    const a = parseSnapshotArgs(args);
    const origin = await getArgDevice(ctx, a.originPath, merging ? 'rw' : 'r', 0, 'Error opening origin device');
    const cow = await getArgDevice(ctx, a.cowPath, ctx.readOnly ? 'r' : 'rw', 1, 'Cannot get COW device');
    if (sameDevice(cow.bdev, origin.bdev))
      throw new TargetArgumentError('COW device cannot be the same as origin device', 1);
    if (merging && a.store.kind === 'N') {
      // 6.1 accepts this table and then oopses on resume (the transient store has no merge methods).
      throw new TargetArgumentError(
        'Snapshot exception store does not support snapshot-merge.',
        2,
        'merge needs a persistent (P) COW',
      );
    }
    // Handover (__validate_exception_handover): an active snapshot on this COW gives its exceptions to the new table.
    const registry = registryFor(ctx);
    const others = registry.snapshotsOf(origin.bdev).filter((s) => sameDevice(s.cowDevice, cow.bdev));
    if (others.length >= 2 || others.some((s) => !s.active)) {
      throw new TargetArgumentError(
        'Snapshot cow pairing for exception table handover failed',
        1,
        'a COW can be shared by two tables only while one hands over to the other',
      );
    }
    const handover = others.length === 1;
    if (handover && merging) {
      if (registry.snapshotsOf(origin.bdev).some((s) => s.merging))
        throw new TargetArgumentError('A snapshot is already merging.', 0);
      const src = others[0];
      if (src instanceof Snapshot && !src.store.prepareMerge) {
        throw new TargetArgumentError('Snapshot exception store does not support snapshot-merge.', 2);
      }
    }
    // A handover destination ignores the table's chunk size until it gets the source's store.
    const chunk = handover ? 0 : a.store.chunkSize;
    const store: ExceptionStore =
      a.store.kind === 'P'
        ? new PersistentStore(cow.bdev, chunk, a.store.overflowSupported)
        : new TransientStore(cow.bdev, chunk);
    const snap = make(a, origin, cow, store, handover);
    if (!handover) {
      try {
        // The table is sized from the COW once the store knows the chunk size (the header's wins), as the
        // kernel's init_hash_tables sizes it; only a COW that holds exceptions gets a large one.
        let sized = false;
        const state = await store.readMetadata((oldChunk, newChunk) => {
          if (!sized) snap.complete.reserve(Math.floor(cow.bdev.sizeSectors / store.chunkSize));
          sized = true;
          snap.complete.set(oldChunk, newChunk);
        });
        if (state === 'invalid') snap.valid = false; // "Snapshot is marked invalid."
      } catch (e) {
        await snap.kcopyd.destroy();
        const detail = e instanceof Error ? e.message : String(e);
        throw new TargetArgumentError(
          'Failed to read snapshot metadata',
          1,
          detail,
          e instanceof DmError ? e.code : 'EIO',
        );
      }
    }
    registry.register(origin.bdev, snap);
    return snap;
  }

  get chunkSize(): number {
    return this.store.chunkSize;
  }

  get cowDevice(): BlockDevice {
    return this.cow.bdev;
  }

  get maxIoSectors(): number {
    return this.store.chunkSize;
  }

  /** num_discard_bios is 1 (2 with discard_passdown_origin) only with discard_zeroes_cow; 0 otherwise. */
  get takesDiscards(): boolean {
    return this.discardZeroesCow;
  }

  /**
   * snapshot_io_hints: discards are split at chunk boundaries. 6.1 stores the chunk size in sectors into
   * discard_granularity, a field in bytes, so a chunk of 8 sectors shows as a granularity of 8 (the oracle's too).
   */
  discardHints(limits: DiscardLimits): DiscardLimits {
    return { ...limits, maxSectors: this.store.chunkSize, granularity: this.store.chunkSize };
  }

  protected get deviceName(): string {
    return this.ctx.deviceName;
  }

  async map(bio: Bio): Promise<void> {
    if (bio.op === 'flush' || (bio.preflush && bio.count === 0)) {
      await this.flush();
      return;
    }
    if (bio.preflush) await this.flush();
    if (bio.op === 'discard') {
      await this.eachChunk(bio, (sector, count) => this.discard(sector, count));
      return;
    }
    const buf = bio.op === 'write_zeroes' ? Buffer.alloc(bio.count * SECTOR_SIZE) : bio.buf;
    if (!buf) throw new IoError(`${this.deviceName}: ${bio.op} at sector ${bio.sector} has no data buffer`);
    const write = bio.op !== 'read';
    await this.eachChunk(bio, (sector, count, offset) => {
      const part = buf.subarray(offset * SECTOR_SIZE, (offset + count) * SECTOR_SIZE);
      return write ? this.writeChunk(sector, part) : this.readChunk(sector, part);
    });
    if (write && bio.fua) await this.cow.bdev.flush();
  }

  status(type: StatusType): string {
    if (type === 'table') {
      return formatSnapshotTable({
        origin: this.origin.name,
        cow: this.cow.name,
        store: this.store.tableType(),
        chunkSectors: this.store.chunkSize,
        discardZeroesCow: this.discardZeroesCow,
        discardPassdownOrigin: this.discardPassdownOrigin,
      });
    }
    if (!this.valid) return formatSnapshotStatus({ state: 'invalid' });
    if (this.mergeFailed) return formatSnapshotStatus({ state: 'merge-failed' });
    if (this.overflowed) return formatSnapshotStatus({ state: 'overflow' });
    const u = this.store.usage();
    return formatSnapshotStatus({
      state: 'active',
      allocatedSectors: u.sectorsAllocated,
      totalSectors: u.totalSectors,
      metadataSectors: u.metadataSectors,
    });
  }

  /** The exception table as it is in core (pending copies marked), the store's header as on the COW, the layout. */
  async inspect(): Promise<SnapshotInspection & TargetInspection> {
    const exceptions: InspectedException[] = [...this.complete].map(([oldChunk, newChunk]) => ({
      oldChunk,
      newChunk,
      state: 'committed',
    }));
    for (const pe of this.pending.values())
      exceptions.push({ oldChunk: pe.oldChunk, newChunk: pe.newChunk, state: pe.started ? 'copying' : 'pending' });
    const store = this.store;
    const c = store.chunkSize;
    let facts: { header: SnapshotInspection['header']; currentArea: number; currentRecords: number; nextFree: number };
    if (store instanceof PersistentStore) {
      const s = store.inspect();
      const first = Buffer.alloc(SECTOR_SIZE);
      await this.cow.bdev.read(0, first);
      const h = readCowHeader(first);
      facts = {
        header: { magic: h.magic, valid: h.valid, version: h.version, chunkSectors: h.chunkSize },
        currentArea: s.currentArea,
        currentRecords: s.currentCommitted,
        nextFree: s.nextFree,
      };
    } else {
      facts = { header: null, currentArea: 0, currentRecords: 0, nextFree: store.usage().sectorsAllocated / c };
    }
    const state = !this.valid ? 'invalid' : this.mergeFailed ? 'merge-failed' : this.overflowed ? 'overflow' : null;
    const model = snapshotInspection({
      store: store.tableType(),
      cowSectors: this.cow.bdev.sizeSectors,
      chunkSectors: c,
      exceptions,
      state,
      ...facts,
    });
    return { ...model, kcopyd: this.kcopyd.inspect ? [this.kcopyd.inspect()] : [] };
  }

  async postsuspend(): Promise<void> {
    this.suspended = true;
  }

  async preresume(): Promise<void> {
    const peer = this.handoverPeer();
    if (!peer) return;
    if (!this.handoverDestination) {
      throw new InvalidArgumentError(
        `Unable to resume snapshot source until handover completes (to ${peer.deviceName}).`,
      );
    }
    if (!peer.suspended) {
      throw new InvalidArgumentError(
        `Unable to perform snapshot handover until source is suspended: suspend ${peer.deviceName} first.`,
      );
    }
  }

  async resume(): Promise<void> {
    const peer = this.handoverPeer();
    if (peer && this.handoverDestination) this.takeOver(peer);
    this.handoverDestination = false;
    this.registry.register(this.origin.bdev, this); // re-sorted: the chunk size may have changed
    this.active = true;
    this.suspended = false;
  }

  devices(): DmDevice[] {
    return [this.origin, this.cow];
  }

  /** snapshot_iterate_devices: the origin over the target's length, the whole COW. */
  deviceAreas(): DeviceArea[] {
    return [
      { device: this.origin, start: 0, len: this.ctx.len },
      { device: this.cow, start: 0, len: this.cow.bdev.sizeSectors },
    ];
  }

  async destroy(): Promise<void> {
    const peer = this.handoverPeer();
    if (peer && !this.handoverDestination && peer.handoverDestination) {
      peer.valid = false; // "Cancelling snapshot handover."
    }
    this.registry.unregister(this.origin.bdev, this);
    await Promise.allSettled([...this.pending.values()].map((pe) => pe.done));
    await this.dropping;
    await this.kcopyd.destroy();
  }

  /** __origin_write for this snapshot (see RegisteredSnapshot). */
  prepareForOriginWrite(sector: number): Promise<unknown> | null {
    if (!this.valid || !this.active || this.merging || sector >= this.ctx.len) return null;
    const chunk = Math.floor(sector / this.chunkSize);
    if (this.complete.has(chunk)) return null;
    let pe = this.pending.get(chunk);
    if (!pe) {
      pe = this.allocate(chunk, 'origin-write') ?? undefined;
      if (!pe) return this.invalidate('Unable to allocate exception.');
    }
    if (!pe.started) this.startCopy(pe);
    return pe.done;
  }

  copiesThrottled(): Promise<void> | null {
    if (this.inProgress <= snapshotParameters.cowThreshold) return null;
    return new Promise((resolve) => this.inProgressWaiters.push(resolve));
  }

  /** __invalidate_snapshot: status Invalid, every later I/O fails, the persistent header gets valid=0. */
  invalidate(reason: string): Promise<void> {
    if (!this.valid) return this.dropping;
    this.valid = false;
    this.ctx.bus.emit('snapshot.invalidated', { device: this.deviceName, reason: `Invalidating snapshot: ${reason}` });
    this.ctx.raiseEvent();
    this.dropping = this.dropping.then(() => this.store.drop());
    return this.dropping;
  }

  protected async flush(): Promise<void> {
    await this.cow.bdev.flush();
  }

  protected async readChunk(sector: number, buf: Buffer): Promise<void> {
    if (!this.valid) throw this.invalidError('read', sector);
    const chunk = Math.floor(sector / this.chunkSize);
    const e = this.complete.get(chunk);
    if (e !== undefined) {
      await this.cow.bdev.read(this.remap(e, sector), buf);
      return;
    }
    // Tracked: the copy of this chunk does not release origin writes while the read is in flight.
    await this.tracker.track(chunk, () => this.origin.bdev.read(sector, buf));
  }

  protected async writeChunk(sector: number, buf: Buffer): Promise<void> {
    for (let w = this.copiesThrottled(); w; w = this.copiesThrottled()) await w;
    if (!this.valid) throw this.invalidError('write', sector);
    if (this.overflowed)
      throw new IoError(`${this.deviceName}: write at sector ${sector}: snapshot has overflowed (status Overflow)`);
    const chunk = Math.floor(sector / this.chunkSize);
    const e = this.complete.get(chunk);
    if (e !== undefined) {
      await this.cow.bdev.write(this.remap(e, sector), buf);
      return;
    }
    let pe = this.pending.get(chunk);
    if (!pe) {
      pe = this.allocate(chunk, 'snapshot-write') ?? undefined;
      if (!pe) {
        if (this.store.overflowSupported) {
          if (this.valid && !this.overflowed) {
            this.overflowed = true;
            this.ctx.bus.emit('snapshot.overflow', { device: this.deviceName });
          }
        } else await this.invalidate('Unable to allocate exception.');
        throw new IoError(`${this.deviceName}: write at sector ${sector}: COW ${this.cow.name} is full`);
      }
    }
    if (!pe.started && buf.length === this.chunkSize * SECTOR_SIZE) {
      // The write replaces the whole chunk: it goes to the COW as the copy would have, and completes with it.
      pe.started = true;
      this.inProgress++;
      this.ctx.bus.emit('snapshot.copy.started', {
        ...this.chunkFields(pe),
        sectors: this.chunkSize,
        mode: 'full-write',
      });
      const target = pe;
      this.cow.bdev.write(this.remap(pe.newChunk, sector), buf).then(
        () => this.copyDone(target, false, 0),
        () => this.copyDone(target, false, 1),
      );
      if (!(await pe.done)) throw this.invalidError('write', sector);
      return;
    }
    if (!pe.started) this.startCopy(pe);
    if (!(await pe.done)) throw this.invalidError('write', sector);
    await this.cow.bdev.write(this.remap(pe.newChunk, sector), buf);
  }

  /** Allocates a COW chunk for an origin chunk and records the pending exception, or null when the store is full. */
  protected allocate(chunk: number, cause: AllocationCause): PendingException | null {
    const newChunk = this.store.prepareException();
    if (newChunk === null) return null;
    const pe = new PendingException(chunk, newChunk, this.nextSequence++);
    this.pending.set(chunk, pe);
    this.ctx.bus.emit('snapshot.exception.allocated', { ...this.chunkFields(pe), cause });
    return pe;
  }

  protected remap(newChunk: number, sector: number): number {
    return newChunk * this.chunkSize + (sector % this.chunkSize);
  }

  protected invalidError(op: string, sector: number): IoError {
    return new IoError(`${this.deviceName}: ${op} at sector ${sector}: snapshot is invalid (status Invalid)`);
  }

  /** Runs fn for each piece of the bio that lies within one chunk (sector, count, offset), all submitted together. */
  protected async eachChunk(
    bio: Bio,
    fn: (sector: number, count: number, offset: number) => Promise<void>,
  ): Promise<void> {
    const c = this.chunkSize;
    const pieces: Promise<void>[] = [];
    for (let done = 0; done < bio.count; ) {
      const sector = bio.sector + done;
      const count = Math.min(bio.count - done, c - (sector % c));
      pieces.push(fn(sector, count, done));
      done += count;
    }
    await settleAll(pieces);
  }

  private startCopy(pe: PendingException): void {
    pe.started = true;
    this.inProgress++;
    const from = pe.oldChunk * this.chunkSize;
    const count = Math.min(this.chunkSize, this.origin.bdev.sizeSectors - from);
    const job = this.kcopyd.copy(
      { bdev: this.origin.bdev, sector: from, count },
      [{ bdev: this.cow.bdev, sector: pe.newChunk * this.chunkSize, count }],
      {},
      (readErr, writeErr) => this.copyDone(pe, readErr, writeErr),
      undefined,
    );
    // After the submission, which names the job; its completion runs on a later worker pass, so this still
    // comes before snapshot.copy.finished.
    this.ctx.bus.emit('snapshot.copy.started', { ...this.chunkFields(pe), sectors: count, mode: 'copy', job });
  }

  /** copy_callback: completions are committed in allocation order. */
  private copyDone(pe: PendingException, readErr: boolean, writeErr: number): void {
    this.ctx.bus.emit('snapshot.copy.finished', { ...this.chunkFields(pe), readErr, writeErr });
    if (--this.inProgress <= snapshotParameters.cowThreshold) for (const w of this.inProgressWaiters.splice(0)) w();
    this.copiesDone.set(pe.sequence, { pe, ok: !readErr && writeErr === 0 });
    for (let next = this.copiesDone.get(this.nextCommit); next; next = this.copiesDone.get(this.nextCommit)) {
      this.copiesDone.delete(this.nextCommit++);
      const { pe: ready, ok } = next;
      void this.store
        .commitException(ready.oldChunk, ready.newChunk, ok)
        .then((valid) => this.pendingComplete(ready, valid));
    }
  }

  private async pendingComplete(pe: PendingException, success: boolean): Promise<void> {
    this.ctx.bus.emit('snapshot.exception.committed', { ...this.chunkFields(pe), success });
    if (!success) {
      await this.invalidate('Error reading/writing.');
    } else if (this.valid) {
      this.complete.set(pe.oldChunk, pe.newChunk);
      await this.tracker.drain(pe.oldChunk);
    }
    this.pending.delete(pe.oldChunk);
    pe.finish(success && this.valid);
  }

  /** Only with discard_zeroes_cow (takesDiscards): the device refuses discards to a snapshot without it. */
  private async discard(sector: number, count: number): Promise<void> {
    if (this.discardPassdownOrigin) await this.origin.bdev.discard(sector, count);
    if (!this.valid) throw this.invalidError('discard', sector);
    const chunk = Math.floor(sector / this.chunkSize);
    const e = this.complete.get(chunk);
    if (e === undefined) return; // nothing to discard, and no copy-out either
    if (count === this.chunkSize) {
      const r = await this.kcopyd.zeroAsync([{ bdev: this.cow.bdev, sector: e * this.chunkSize, count }]);
      if (r.writeErr) throw new IoError(`${this.deviceName}: zeroing COW chunk ${e} for a discard failed`);
    } else await this.cow.bdev.discard(this.remap(e, sector), count);
  }

  private handoverPeer(): Snapshot | undefined {
    const peers = this.registry
      .sharingCow(this.origin.bdev, this.cow.bdev, this)
      .filter((s): s is Snapshot => s instanceof Snapshot);
    return peers.find((s) => s.handoverDestination !== this.handoverDestination);
  }

  /** __handover_exceptions: the source's table, store and state move here; the source is left invalid. */
  private takeOver(src: Snapshot): void {
    const mine = this.store;
    this.store = src.store;
    src.store = mine;
    this.store.overflowSupported = mine.overflowSupported;
    for (const [o, n] of src.complete) this.complete.set(o, n);
    src.complete.clear();
    this.valid = src.valid;
    this.overflowed = src.overflowed;
    src.valid = false;
  }

  private chunkFields(pe: PendingException): { device: string; oldChunk: number; newChunk: number; chunkSize: number } {
    return { device: this.deviceName, oldChunk: pe.oldChunk, newChunk: pe.newChunk, chunkSize: this.chunkSize };
  }

  static readonly type: TargetType = {
    name: 'snapshot',
    version: [1, 16, 0],
    create: (ctx, args) => Snapshot.build(ctx, args, false, (a, o, c, s, h) => new Snapshot(ctx, a, o, c, s, h)),
  };
}

export const snapshotTargetType = Snapshot.type;
