// PoolMetadata: the thin pool's metadata (dm-thin-metadata.c). Over the persistent-data library it keeps the
// two-level mapping tree (thin id -> that device's tree of virtual block -> data block and time), the device
// details tree, the data space map, and the superblock that ties them together at each commit. Every public
// method runs alone (the kernel's pmd->root_lock), so I/O paths and messages never see a half-made change.

import {
  BusyError,
  CorruptMetadataError,
  DmError,
  ExistsError,
  InvalidArgumentError,
  NoDataError,
} from '../../src/base/errors.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { BlockManager, SECTORS_PER_METADATA_BLOCK } from '../../src/persistent-data/block-manager.js';
import {
  btreeDel,
  btreeEmpty,
  btreeHighestKey,
  btreeInsert,
  btreeLookup,
  btreeLookupNext,
  btreeWalk,
} from '../../src/persistent-data/btree.js';
import { readLe64 } from '../../src/persistent-data/btree-node.js';
import { btreeRemove, btreeRemoveRange } from '../../src/persistent-data/btree-remove.js';
import type { BtreeInfo, ValueType } from '../../src/persistent-data/btree-spine.js';
import { DiskSpaceMap } from '../../src/persistent-data/sm-disk.js';
import { METADATA_SM_MAX_BLOCKS, MetadataSpaceMap } from '../../src/persistent-data/sm-metadata.js';
import { TransactionManager } from '../../src/persistent-data/transaction-manager.js';
import {
  decodeSuperblock,
  encodeSuperblock,
  mappingAndDetailsRoots,
  NEEDS_CHECK_FLAG,
  superblockValidator,
  THIN_SUPERBLOCK_LOCATION,
  THIN_VERSION,
  wipeSmRoots,
} from './superblock.js';

/** THIN_METADATA_MAX_SECTORS: what the metadata space map can describe, in sectors. */
const THIN_METADATA_MAX_SECTORS = METADATA_SM_MAX_BLOCKS * SECTORS_PER_METADATA_BLOCK;
/** The largest thin device id (24 bits: it shares a 64-bit key space with nothing, but the tools pack it so). */
export const MAX_DEV_ID = (1 << 24) - 1;

/** struct disk_device_details. */
export interface DeviceDetails {
  mappedBlocks: number;
  transactionId: bigint;
  creationTime: number;
  snapshottedTime: number;
}

/** struct dm_thin_device: a device's details held in core while it is open or changed. */
export interface ThinDevice extends DeviceDetails {
  readonly id: number;
  openCount: number;
  changed: boolean;
  abortedWithChanges: boolean;
}

/** dm_thin_lookup_result. */
export interface Lookup {
  block: number;
  shared: boolean;
}

/** One mapping as thin_dump prints it. */
export interface Mapping {
  virt: number;
  data: number;
  time: number;
}

const DATA_TIME_BITS = 24;
const TIME_MASK = (1 << DATA_TIME_BITS) - 1;

/** pack_block_time: data block in the high 40 bits, time in the low 24. */
function packBlockTime(block: number, time: number): Buffer {
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE((BigInt(block) << 24n) | BigInt(time & TIME_MASK));
  return v;
}

function unpackBlockTime(v: Buffer): { block: number; time: number } {
  const x = v.readBigUInt64LE(0);
  return { block: Number(x >> 24n), time: Number(x & BigInt(TIME_MASK)) };
}

function encodeDetails(d: DeviceDetails): Buffer {
  const buf = Buffer.alloc(24);
  buf.writeBigUInt64LE(BigInt(d.mappedBlocks), 0);
  buf.writeBigUInt64LE(d.transactionId, 8);
  buf.writeUInt32LE(d.creationTime, 16);
  buf.writeUInt32LE(d.snapshottedTime, 20);
  return buf;
}

function decodeDetails(buf: Buffer): DeviceDetails {
  return {
    mappedBlocks: readLe64(buf, 0),
    transactionId: buf.readBigUInt64LE(8),
    creationTime: buf.readUInt32LE(16),
    snapshottedTime: buf.readUInt32LE(20),
  };
}

/** What opening a metadata device may do (the kernel's format_device argument and read_only feature). */
export interface OpenOptions {
  dataBlockSize: number;
  /** Format an all-zero superblock (refused for a read-only pool). */
  mayFormat: boolean;
  /** The pool only reads: unsupported compat_ro features are tolerated. */
  readOnly?: boolean;
}

export class PoolMetadata {
  private dev: BlockDevice;
  readonly dataBlockSize: number;
  private bm!: BlockManager;
  private tm!: TransactionManager;
  private metadataSm!: MetadataSpaceMap;
  private dataSm!: DiskSpaceMap;
  private time = 0;
  private transId = 0n;
  private flags = 0;
  private heldRoot = 0;
  private root = 0;
  private detailsRoot = 0;
  private metadataNrBlocks = 0;
  private inService = false;
  private metadataReserve = 0;
  /** Open or changed devices, most recently opened first (list_add). */
  private devices: ThinDevice[] = [];
  private lock: Promise<unknown> = Promise.resolve();
  /** Runs before each commit writes anything: the pool flushes the data device (pre_commit_fn). */
  preCommit: () => Promise<void> = async () => {};

  private constructor(dev: BlockDevice, dataBlockSize: number) {
    this.dev = dev;
    this.dataBlockSize = dataBlockSize;
  }

  /** The metadata device through the handle of the table now bound to the pool. */
  rebind(dev: BlockDevice): void {
    this.dev = dev;
    this.bm.rebind(dev);
  }

  /** Metadata blocks the device holds now (get_metadata_dev_size_in_blocks), capped at what the map can use. */
  get deviceBlocks(): number {
    return Math.floor(Math.min(this.dev.sizeSectors, THIN_METADATA_MAX_SECTORS) / SECTORS_PER_METADATA_BLOCK);
  }

  /** dm_pool_metadata_open: opens the metadata on dev, formatting an all-zero superblock if allowed. */
  static async open(dev: BlockDevice, options: OpenOptions): Promise<PoolMetadata> {
    const pmd = new PoolMetadata(dev, options.dataBlockSize);
    const sectors = Math.min(dev.sizeSectors, THIN_METADATA_MAX_SECTORS);
    pmd.bm = new BlockManager(dev, Math.floor(sectors / SECTORS_PER_METADATA_BLOCK));
    const first = Buffer.alloc(4096);
    await dev.read(0, first);
    if (first.every((b) => b === 0)) {
      if (!options.mayFormat)
        throw new DmError(
          'EPERM',
          'thin metadata: the superblock is all zeroes and the pool is read-only: cannot format it',
        );
      await pmd.format();
    } else {
      await pmd.openExisting(options.readOnly ?? false);
    }
    return pmd;
  }

  /** __format_metadata + __write_initial_superblock. */
  private async format(): Promise<void> {
    this.tm = new TransactionManager(this.bm);
    this.metadataSm = await MetadataSpaceMap.create(this.tm, this.bm.nrBlocks, THIN_SUPERBLOCK_LOCATION);
    this.dataSm = await DiskSpaceMap.create(this.tm, 0);
    this.root = await btreeEmpty(this.info);
    this.detailsRoot = await btreeEmpty(this.detailsInfo);
    this.metadataNrBlocks = this.bm.nrBlocks;
    this.setMetadataReserve();
    await this.dataSm.commit();
    await this.tm.preCommit();
    const sb = this.bm.writeLockZero(THIN_SUPERBLOCK_LOCATION, superblockValidator);
    this.writeSuperblock(sb);
    await this.tm.commit();
  }

  /** __open_metadata + __begin_transaction. */
  private async openExisting(readOnly: boolean): Promise<void> {
    const data = await this.bm.readLock(THIN_SUPERBLOCK_LOCATION, superblockValidator);
    const sb = decodeSuperblock(data);
    if (sb.incompatFlags !== 0)
      throw new CorruptMetadataError(
        `could not access metadata due to unsupported optional features (${sb.incompatFlags.toString(16)}).`,
      );
    if (!readOnly && sb.compatRoFlags !== 0)
      throw new CorruptMetadataError(
        `could not access metadata RDWR due to unsupported optional features (${sb.compatRoFlags.toString(16)}).`,
      );
    if (sb.dataBlockSize !== this.dataBlockSize)
      throw new InvalidArgumentError(
        `thin metadata: changing the data block size (from ${sb.dataBlockSize} to ${this.dataBlockSize}) is not supported`,
      );
    this.tm = new TransactionManager(this.bm);
    this.metadataSm = await MetadataSpaceMap.open(this.tm, sb.metadataSmRoot);
    this.dataSm = DiskSpaceMap.open(this.tm, sb.dataSmRoot);
    this.beginTransaction(data);
    this.setMetadataReserve();
  }

  private beginTransaction(data: Buffer): void {
    const sb = decodeSuperblock(data);
    this.time = sb.time;
    this.root = sb.mappingRoot;
    this.detailsRoot = sb.detailsRoot;
    this.transId = sb.transId;
    this.flags = sb.flags;
    this.heldRoot = sb.heldRoot;
    this.metadataNrBlocks = sb.metadataNrBlocks;
  }

  private writeSuperblock(data: Buffer): void {
    encodeSuperblock(
      {
        flags: this.flags,
        version: THIN_VERSION,
        time: this.time,
        transId: this.transId,
        heldRoot: this.heldRoot,
        dataSmRoot: this.dataSm.root(),
        metadataSmRoot: this.metadataSm.root(),
        mappingRoot: this.root,
        detailsRoot: this.detailsRoot,
        dataBlockSize: this.dataBlockSize,
        metadataNrBlocks: this.metadataNrBlocks,
        compatFlags: 0,
        compatRoFlags: 0,
        incompatFlags: 0,
      },
      data,
    );
  }

  /** __set_metadata_reserve: blocks kept back for commits, min(4096, total / 10). */
  private setMetadataReserve(): void {
    this.metadataReserve = Math.min(4096, Math.floor(this.metadataSm.nrBlocks() / 10));
  }

  /** Data values of the bottom-level trees: each holds one reference to its data block. */
  private get dataValueType(): ValueType {
    return {
      size: 8,
      inc: (v) => this.dataSm.inc(unpackBlockTime(v).block),
      dec: (v) => this.dataSm.dec(unpackBlockTime(v).block),
      equal: (a, b) => unpackBlockTime(a).block === unpackBlockTime(b).block,
    };
  }

  /** pmd->info: both levels, keyed [thin id, virtual block]. */
  private get info(): BtreeInfo {
    return { tm: this.tm, levels: 2, valueType: this.dataValueType };
  }

  /** pmd->bl_info: one device's mapping tree. */
  private get blInfo(): BtreeInfo {
    return { tm: this.tm, levels: 1, valueType: this.dataValueType };
  }

  /** pmd->tl_info: thin id -> subtree root; dropping an entry drops a reference to the whole subtree. */
  private get tlInfo(): BtreeInfo {
    return {
      tm: this.tm,
      levels: 1,
      valueType: {
        size: 8,
        inc: (v) => this.tm.inc(readLe64(v, 0)),
        dec: (v) => btreeDel(this.blInfo, readLe64(v, 0)),
        equal: (a, b) => a.equals(b),
      },
    };
  }

  private get detailsInfo(): BtreeInfo {
    return { tm: this.tm, levels: 1, valueType: { size: 24 } };
  }

  /** Runs fn with the metadata to itself. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** pmd_write_lock: the first change puts the metadata in service (only then do commits write anything). */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      this.inService = true;
      return fn();
    });
  }

  // ---- devices ----

  /** __open_device. */
  private async openDevice(id: number, create: boolean): Promise<ThinDevice> {
    const held = this.devices.find((d) => d.id === id);
    if (held) {
      if (create) throw new ExistsError(`thin device ${id} already exists`);
      held.openCount++;
      return held;
    }
    const v = await btreeLookup(this.detailsInfo, this.detailsRoot, [id]);
    let details: DeviceDetails;
    let changed = false;
    if (v) {
      if (create) throw new ExistsError(`thin device ${id} already exists`);
      details = decodeDetails(v);
    } else {
      if (!create) throw new NoDataError(`thin device ${id} does not exist`);
      details = { mappedBlocks: 0, transactionId: this.transId, creationTime: this.time, snapshottedTime: this.time };
      changed = true;
    }
    const td: ThinDevice = { id, ...details, openCount: 1, changed, abortedWithChanges: false };
    this.devices.unshift(td);
    return td;
  }

  private closeDevice(td: ThinDevice): void {
    td.openCount--;
  }

  /** dm_pool_open_thin_device: a handle the thin target keeps while it is loaded. */
  openThin(id: number): Promise<ThinDevice> {
    return this.exclusive(() => this.openDevice(id, false));
  }

  closeThin(td: ThinDevice): Promise<void> {
    return this.exclusive(async () => this.closeDevice(td));
  }

  /**
   * The id is free: not in the details tree, and (dmsim) not a device created in this transaction either. The
   * kernel checks only the tree and would overwrite such a device's mappings; its messages commit at once.
   */
  private async checkUnused(id: number): Promise<void> {
    if (this.devices.some((d) => d.id === id) || (await btreeLookup(this.detailsInfo, this.detailsRoot, [id])))
      throw new ExistsError(`thin device ${id} already exists`);
  }

  /** dm_pool_create_thin. */
  createThin(id: number): Promise<void> {
    return this.write(async () => {
      await this.checkUnused(id);
      const devRoot = await btreeEmpty(this.blInfo);
      const value = Buffer.alloc(8);
      value.writeBigUInt64LE(BigInt(devRoot));
      this.root = (await btreeInsert(this.tlInfo, this.root, [id], value)).root;
      this.closeDevice(await this.openDevice(id, true));
    });
  }

  /** dm_pool_create_snap: the snapshot shares the origin's whole tree; the time counter moves on. */
  createSnap(id: number, origin: number): Promise<void> {
    return this.write(async () => {
      await this.checkUnused(id);
      const v = await btreeLookup(this.tlInfo, this.root, [origin]);
      if (!v) throw new NoDataError(`thin device ${origin} does not exist`);
      const originRoot = readLe64(v, 0);
      await this.tm.inc(originRoot);
      this.root = (await btreeInsert(this.tlInfo, this.root, [id], v)).root;
      this.time++;
      const snap = await this.openDevice(id, true);
      const o = await this.openDevice(origin, false);
      o.changed = true;
      o.snapshottedTime = this.time;
      snap.mappedBlocks = o.mappedBlocks;
      snap.snapshottedTime = this.time;
      snap.creationTime = this.time;
      this.closeDevice(o);
      this.closeDevice(snap);
    });
  }

  /** dm_pool_delete_thin_device. */
  deleteThin(id: number): Promise<void> {
    return this.write(async () => {
      const td = await this.openDevice(id, false);
      if (td.openCount > 1) {
        this.closeDevice(td);
        throw new BusyError(`thin device ${id} is open`);
      }
      this.devices = this.devices.filter((d) => d !== td);
      this.detailsRoot = (await btreeRemove(this.detailsInfo, this.detailsRoot, [id])) ?? this.detailsRoot;
      this.root = (await btreeRemove(this.tlInfo, this.root, [id])) ?? this.root;
    });
  }

  /** dm_pool_set_metadata_transaction_id: compare and swap. */
  setTransactionId(current: bigint, next: bigint): Promise<void> {
    return this.write(async () => {
      if (this.transId !== current) throw new InvalidArgumentError('thin metadata: mismatched transaction id');
      this.transId = next;
    });
  }

  /** dm_pool_changed_this_transaction: a device's mappings or details changed since the last commit. */
  get changedThisTransaction(): boolean {
    return this.devices.some((d) => d.changed);
  }

  get transactionId(): bigint {
    return this.transId;
  }

  /** The held metadata snapshot's block, 0 when none. */
  get metadataSnap(): number {
    return this.heldRoot;
  }

  get needsCheck(): boolean {
    return (this.flags & NEEDS_CHECK_FLAG) !== 0;
  }

  /** dm_pool_reserve_metadata_snap: a copy of the superblock that keeps the current trees alive. */
  reserveMetadataSnap(): Promise<void> {
    return this.write(async () => {
      await this.commitLocked();
      await this.metadataSm.inc(THIN_SUPERBLOCK_LOCATION);
      const copy = await this.tm.shadowBlock(THIN_SUPERBLOCK_LOCATION, superblockValidator);
      if (decodeSuperblock(copy.data).heldRoot !== 0) {
        await this.tm.dec(copy.location);
        throw new BusyError(
          'thin metadata: Pool metadata snapshot already exists: release this before taking another.',
        );
      }
      wipeSmRoots(copy.data);
      const roots = mappingAndDetailsRoots(copy.data);
      await this.tm.inc(roots.mappingRoot);
      await this.tm.inc(roots.detailsRoot);
      this.heldRoot = copy.location;
    });
  }

  /** dm_pool_release_metadata_snap. */
  releaseMetadataSnap(): Promise<void> {
    return this.write(async () => {
      const held = this.heldRoot;
      if (!held) throw new InvalidArgumentError('thin metadata: No pool metadata snapshot found: nothing to release.');
      this.heldRoot = 0;
      const roots = mappingAndDetailsRoots(await this.tm.readLock(held, superblockValidator));
      await btreeDel(this.info, roots.mappingRoot);
      await btreeDel(this.detailsInfo, roots.detailsRoot);
      await this.metadataSm.dec(held);
    });
  }

  // ---- mappings ----

  /** dm_thin_find_block: where a virtual block lives, and whether a snapshot taken since shares it. */
  findBlock(td: ThinDevice, virt: number): Promise<Lookup | undefined> {
    return this.exclusive(async () => this.findBlockLocked(td, virt));
  }

  private async findBlockLocked(td: ThinDevice, virt: number): Promise<Lookup | undefined> {
    const v = await btreeLookup(this.info, this.root, [td.id, virt]);
    if (!v) return undefined;
    const { block, time } = unpackBlockTime(v);
    return { block, shared: td.snapshottedTime > time };
  }

  /**
   * dm_thin_find_mapped_range: the first run in [begin, end) of consecutive virtual blocks mapped to
   * consecutive data blocks with the same shared flag.
   */
  findMappedRange(
    td: ThinDevice,
    begin: number,
    end: number,
  ): Promise<{ virtBegin: number; virtEnd: number; dataBegin: number; shared: boolean } | undefined> {
    return this.exclusive(async () => {
      const sub = await this.subtreeRoot(td);
      if (sub === undefined) return undefined;
      const first = await btreeLookupNext(this.blInfo, sub, begin);
      if (!first || first.key >= end) return undefined;
      const start = await this.findBlockLocked(td, first.key);
      if (!start) return undefined;
      let v = first.key + 1;
      for (; v < end; v++) {
        const l = await this.findBlockLocked(td, v);
        if (!l || l.block !== start.block + (v - first.key) || l.shared !== start.shared) break;
      }
      return { virtBegin: first.key, virtEnd: v, dataBegin: start.block, shared: start.shared };
    });
  }

  private async subtreeRoot(td: ThinDevice): Promise<number | undefined> {
    const v = await btreeLookup(this.tlInfo, this.root, [td.id]);
    return v ? readLe64(v, 0) : undefined;
  }

  /** dm_thin_insert_block: maps virt to data at the current time. */
  insertBlock(td: ThinDevice, virt: number, data: number): Promise<void> {
    return this.write(async () => {
      const r = await btreeInsert(this.info, this.root, [td.id, virt], packBlockTime(data, this.time));
      this.root = r.root;
      td.changed = true;
      if (r.inserted) td.mappedBlocks++;
    });
  }

  /** dm_thin_remove_range: unmaps [begin, end); the data blocks lose this reference. */
  removeRange(td: ThinDevice, begin: number, end: number): Promise<number> {
    return this.write(async () => {
      const r = await btreeRemoveRange(this.info, this.root, [td.id], begin, end);
      this.root = r.root;
      td.mappedBlocks -= r.removed;
      td.changed = true;
      return r.removed;
    });
  }

  /** dm_thin_get_highest_mapped_block. */
  highestMappedBlock(td: ThinDevice): Promise<number | undefined> {
    return this.exclusive(async () => {
      const sub = await this.subtreeRoot(td);
      return sub === undefined ? undefined : btreeHighestKey(this.blInfo, sub);
    });
  }

  /** dm_pool_alloc_data_block: undefined when no data block is free (in both the current and committed map). */
  allocDataBlock(): Promise<number | undefined> {
    return this.write(() => this.dataSm.tryNewBlock());
  }

  /** dm_pool_inc_data_range / dec: hold data blocks while a discard passes down. */
  incDataBlock(b: number): Promise<void> {
    return this.write(() => this.dataSm.inc(b));
  }

  decDataBlock(b: number): Promise<void> {
    return this.write(() => this.dataSm.dec(b));
  }

  dataBlockCount(b: number): Promise<number> {
    return this.exclusive(() => this.dataSm.getCount(b));
  }

  // ---- space ----

  get metadataTotal(): number {
    return this.metadataSm.nrBlocks();
  }

  /** dm_pool_get_free_metadata_block_count: free blocks beyond the reserve. */
  get metadataFree(): number {
    return Math.max(0, this.metadataSm.nrFree() - this.metadataReserve);
  }

  get dataTotal(): number {
    return this.dataSm.nrBlocks();
  }

  get dataFree(): number {
    return this.dataSm.nrFree();
  }

  /** The metadata low-water callback (dm_pool_register_metadata_threshold). */
  registerMetadataThreshold(value: number, fn: () => void): void {
    this.metadataSm.registerThreshold(value, fn);
  }

  /** dm_pool_resize_data_dev: the data map only grows. */
  resizeDataDev(newCount: number): Promise<void> {
    return this.write(async () => {
      const old = this.dataSm.nrBlocks();
      if (newCount < old) throw new InvalidArgumentError('cannot reduce size of space map');
      if (newCount > old) await this.dataSm.extend(newCount - old);
    });
  }

  /** dm_pool_resize_metadata_dev. */
  resizeMetadataDev(newCount: number): Promise<void> {
    return this.write(async () => {
      const old = this.metadataSm.nrBlocks();
      if (newCount < old) throw new InvalidArgumentError('cannot reduce size of space map');
      if (newCount > old) {
        this.bm.grow(newCount);
        await this.metadataSm.extend(newCount - old);
      }
      this.setMetadataReserve();
    });
  }

  // ---- transactions ----

  /** dm_pool_commit_metadata. */
  commit(): Promise<void> {
    return this.exclusive(() => this.commitLocked());
  }

  /** __commit_transaction: data first, then details, space maps, every other block, and the superblock last. */
  private async commitLocked(): Promise<void> {
    if (!this.inService) return;
    await this.preCommit();
    await this.writeChangedDetails();
    await this.dataSm.commit();
    await this.tm.preCommit();
    const sb = await this.tm.writeLock(THIN_SUPERBLOCK_LOCATION, superblockValidator);
    this.writeSuperblock(sb);
    await this.tm.commit();
  }

  private async writeChangedDetails(): Promise<void> {
    for (const td of [...this.devices]) {
      if (!td.changed) continue;
      this.detailsRoot = (await btreeInsert(this.detailsInfo, this.detailsRoot, [td.id], encodeDetails(td))).root;
      if (td.openCount > 0) td.changed = false;
      else this.devices = this.devices.filter((d) => d !== td);
    }
  }

  /** dm_pool_abort_metadata: forget everything since the last commit and read the committed state again. */
  abort(): Promise<void> {
    return this.exclusive(async () => {
      this.tm.abort();
      for (const td of this.devices) if (td.changed) td.abortedWithChanges = true;
      this.devices = this.devices.filter((d) => d.openCount > 0);
      await this.openExisting(false);
      for (const td of this.devices) {
        const v = await btreeLookup(this.detailsInfo, this.detailsRoot, [td.id]);
        if (v) Object.assign(td, decodeDetails(v), { changed: false });
      }
      this.inService = false;
    });
  }

  /** dm_pool_metadata_set_needs_check: sets the flag in the superblock on disk at once. */
  setNeedsCheck(): Promise<void> {
    return this.exclusive(async () => {
      this.flags |= NEEDS_CHECK_FLAG;
      const sb = await this.bm.writeLock(THIN_SUPERBLOCK_LOCATION, superblockValidator);
      sb.writeUInt32LE(this.flags, 4);
      await this.bm.flush();
    });
  }

  /** dm_pool_metadata_close: commits unless read-only. */
  close(commit: boolean): Promise<void> {
    return this.exclusive(async () => {
      if (commit) await this.commitLocked();
    });
  }

  // ---- inspection (tests, the TUI) ----

  /** Every device with its details and mappings, as thin_dump lists them (committed or not). */
  dump(): Promise<{ time: number; transId: bigint; devices: (DeviceDetails & { id: number; mappings: Mapping[] })[] }> {
    return this.exclusive(async () => {
      const out: (DeviceDetails & { id: number; mappings: Mapping[] })[] = [];
      const details = new Map<number, DeviceDetails>();
      await btreeWalk(this.detailsInfo, this.detailsRoot, (k, v) => {
        details.set(k, decodeDetails(v));
      });
      for (const td of this.devices) if (td.changed || !details.has(td.id)) details.set(td.id, td);
      const roots: [number, number][] = [];
      await btreeWalk(this.tlInfo, this.root, (k, v) => {
        roots.push([k, readLe64(v, 0)]);
      });
      for (const [id, sub] of roots) {
        const mappings: Mapping[] = [];
        await btreeWalk(this.blInfo, sub, (virt, v) => {
          const { block, time } = unpackBlockTime(v);
          mappings.push({ virt, data: block, time });
        });
        const d = details.get(id)!;
        out.push({
          id,
          mappedBlocks: d.mappedBlocks,
          transactionId: d.transactionId,
          creationTime: d.creationTime,
          snapshottedTime: d.snapshottedTime,
          mappings,
        });
      }
      return { time: this.time, transId: this.transId, devices: out };
    });
  }
}
