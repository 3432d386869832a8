// PersistentStore: the `P` / `PO` exception store, byte for byte the kernel's on-disk format
// (mirrors drivers/md/dm-snap-persistent.c). Layout on the COW, in chunks of C sectors:
//   chunk 0: header (le32 magic "SnAp", valid, version 1, chunk_size; rest of the chunk zero)
//   then metadata areas of E = C*512/16 records (le64 old_chunk, le64 new_chunk), each followed by its E data
//   chunks: [hdr][A0][d x E][A1][d x E]... A record with new_chunk 0 ends the table.

import { DmError, InvalidArgumentError, IoError, NoDeviceError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { SYNC_IO_FLAGS } from '../../src/dm/bio-flags.js';
import { submitBio } from '../../src/dm/submit-bio.js';
import { chunkSizeError, type ExceptionStore, type MergeRun, type StoreUsage } from './exception-store.js';

export const SNAP_MAGIC = 0x70416e53;
export const SNAPSHOT_DISK_VERSION = 1;
/** DM_CHUNK_SIZE_DEFAULT_SECTORS: chunk size 0 on a fresh COW means 16 KiB. */
const DEFAULT_CHUNK_SECTORS = 32;
export const HEADER_CHUNKS = 1;
const RECORD_BYTES = 16;
/** DM_PREFETCH_CHUNKS: read_exceptions reads this many metadata areas ahead of the one it parses. */
const PREFETCH_AREAS = 12;

/** The COW's layout for chunks of `chunk` sectors (the store's geometry; the inspector decodes with it). */
export function cowGeometry(chunk: number): {
  exceptionsPerArea: number;
  areaLocation(k: number): number;
  /** The first chunk a data chunk may take at or after `nextFree` (skips a metadata area). */
  skipMetadata(nextFree: number): number;
} {
  const exceptionsPerArea = (chunk * SECTOR_SIZE) / RECORD_BYTES;
  return {
    exceptionsPerArea,
    areaLocation: (k) => HEADER_CHUNKS + (exceptionsPerArea + 1) * k,
    skipMetadata: (n) => (n % (exceptionsPerArea + 1) === HEADER_CHUNKS ? n + 1 : n),
  };
}

/** The 16-byte header at the start of chunk 0 (le32 magic, valid, version, chunk_size). */
export function readCowHeader(buf: Buffer): { magic: number; valid: boolean; version: number; chunkSize: number } {
  return {
    magic: buf.readUInt32LE(0),
    valid: buf.readUInt32LE(4) !== 0,
    version: buf.readUInt32LE(8),
    chunkSize: buf.readUInt32LE(12),
  };
}

/** Record i of a metadata area (le64 old_chunk, le64 new_chunk). */
export function readAreaRecord(area: Buffer, i: number): { oldChunk: number; newChunk: number } {
  return { oldChunk: readChunkNumber(area, i * RECORD_BYTES), newChunk: readChunkNumber(area, i * RECORD_BYTES + 8) };
}

/** One le64 chunk number (two le32 halves: no BigInt per record when millions are read at activation). */
function readChunkNumber(area: Buffer, offset: number): number {
  return area.readUInt32LE(offset) + area.readUInt32LE(offset + 4) * 2 ** 32;
}

/** persistent_usage: allocated = next_free x C, metadata = (header + areas 0..current_area) x C, total = COW size. */
export function persistentUsage(
  chunk: number,
  nextFree: number,
  currentArea: number,
  totalSectors: number,
): StoreUsage {
  return {
    totalSectors,
    sectorsAllocated: nextFree * chunk,
    metadataSectors: (currentArea + 1 + HEADER_CHUNKS) * chunk,
  };
}

/** What the store holds in core, for the inspector. */
export interface PersistentStoreState {
  valid: boolean;
  chunkSectors: number;
  currentArea: number;
  /** Records in the current area (committed in core; on disk once the area is written). */
  currentCommitted: number;
  nextFree: number;
  /** Prepared exceptions whose commit has not arrived (pending_count). */
  pendingCount: number;
}

export class PersistentStore implements ExceptionStore {
  readonly kind = 'P';
  readonly cow: BlockDevice;
  overflowSupported: boolean;
  private chunk: number;
  private valid = true;
  private exceptionsPerArea = 0;
  /** The current metadata area as it will be written (records 0..currentCommitted-1). */
  private area: Buffer = Buffer.alloc(0);
  /** The area's records as little-endian words (a million records are parsed at activation). */
  private currentArea = 0;
  private nextFree = HEADER_CHUNKS + 1;
  private currentCommitted = 0;
  /** Prepared exceptions whose commit has not arrived yet (the kernel's pending_count). */
  private pendingCount = 0;
  /** Commits waiting for the area write that makes them durable (the kernel's callbacks array). */
  private waiting: Array<(valid: boolean) => void> = [];
  /**
   * An area write is in flight. The kernel writes the area synchronously on the kcopyd worker that runs the
   * copy callbacks (chunk_io waits for it), so copies that finish meanwhile are committed only after it
   * returns, one after the other: they share the next area write unless more exceptions are still pending.
   */
  private areaWriteInFlight = false;
  /** Commits that arrived while the area write was in flight, in arrival order. */
  private readonly blockedCommits: Array<() => void> = [];
  /** Metadata I/O is one at a time, as the kernel's synchronous chunk_io under the serialised commit path. */
  private ioChain: Promise<unknown> = Promise.resolve();

  constructor(cow: BlockDevice, chunkSize: number, overflowSupported: boolean) {
    this.cow = cow;
    this.chunk = chunkSize;
    this.overflowSupported = overflowSupported;
  }

  get chunkSize(): number {
    return this.chunk;
  }

  async readMetadata(add: (oldChunk: number, newChunk: number) => void): Promise<'ok' | 'invalid'> {
    const suppliedChunk = this.chunk;
    if (this.chunk === 0) this.chunk = DEFAULT_CHUNK_SECTORS;
    this.checkFits(this.chunk);
    const header = Buffer.alloc(this.chunk * SECTOR_SIZE);
    await this.cowIo('read', 0, header, 'reading the snapshot header');
    const { magic, valid, version, chunkSize: diskChunk } = readCowHeader(header);
    if (magic === 0) {
      this.setGeometry();
      await this.writeHeader();
      this.area.fill(0);
      await this.cowIo(
        'write',
        this.areaLocation(0),
        Buffer.alloc(this.chunk * SECTOR_SIZE),
        'zeroing metadata area 0',
      );
      return 'ok';
    }
    if (magic !== SNAP_MAGIC) {
      throw new NoDeviceError(
        `Invalid or corrupt snapshot (${this.cow.name} has magic 0x${magic.toString(16)}, not "SnAp" 0x70416e53)`,
      );
    }
    this.valid = valid;
    if (diskChunk !== this.chunk) {
      // The on-disk chunk size wins over the table's (the kernel logs a warning when one was supplied).
      const err = chunkSizeError(diskChunk) ?? (diskChunk === 0 ? 'Chunk size is 0' : null);
      if (err) {
        throw new InvalidArgumentError(`invalid on-disk chunk size ${diskChunk}: ${err} (table said ${suppliedChunk})`);
      }
      this.checkFits(diskChunk);
      this.chunk = diskChunk;
    }
    this.setGeometry();
    if (version !== SNAPSHOT_DISK_VERSION) {
      throw new InvalidArgumentError(
        `unable to handle snapshot disk version ${version} (only ${SNAPSHOT_DISK_VERSION})`,
      );
    }
    if (!this.valid) return 'invalid';
    await this.readExceptions(add);
    return 'ok';
  }

  prepareException(): number | null {
    if (this.cow.sizeSectors < (this.nextFree + 1) * this.chunk) return null;
    const newChunk = this.nextFree;
    this.nextFree++;
    this.skipMetadata();
    this.pendingCount++;
    return newChunk;
  }

  commitException(oldChunk: number, newChunk: number, valid: boolean): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const commit = (): void => this.commit(oldChunk, newChunk, valid, resolve);
      if (this.areaWriteInFlight) this.blockedCommits.push(commit);
      else commit();
    });
  }

  /** persistent_commit_exception: record the exception; write the area once nothing else is pending or it is full. */
  private commit(oldChunk: number, newChunk: number, valid: boolean, resolve: (valid: boolean) => void): void {
    if (!valid) this.valid = false;
    this.waiting.push(resolve);
    this.writeRecord(this.currentCommitted++, oldChunk, newChunk);
    this.pendingCount--;
    const full = this.currentCommitted === this.exceptionsPerArea;
    // Batch: while other exceptions are in flight and the area has room, their commit will write it.
    if (this.pendingCount > 0 && !full) return;
    const areaImage = Buffer.from(this.area);
    const areaChunk = this.areaLocation(this.currentArea);
    const nextAreaChunk = this.areaLocation(this.currentArea + 1);
    const callbacks = this.waiting;
    this.waiting = [];
    if (full) {
      this.currentCommitted = 0;
      this.currentArea++;
      this.area.fill(0);
    }
    this.areaWriteInFlight = true;
    void this.serialise(async () => {
      // A full area: its successor is zeroed on disk first, so a reader always finds the end of the table.
      if (full && !(await this.tryIo('write', nextAreaChunk, Buffer.alloc(this.chunk * SECTOR_SIZE))))
        this.valid = false;
      if (this.valid && !(await this.tryIo('write', areaChunk, areaImage, true))) this.valid = false;
      for (const cb of callbacks) cb(this.valid);
      this.areaWriteInFlight = false;
      // Back from area_io, the worker commits what finished meanwhile (until one of them writes the area again).
      while (!this.areaWriteInFlight && this.blockedCommits.length > 0) this.blockedCommits.shift()!();
    });
  }

  usage(): StoreUsage {
    return persistentUsage(this.chunk, this.nextFree, this.currentArea, this.cow.sizeSectors);
  }

  async drop(): Promise<void> {
    this.valid = false;
    await this.serialise(() => this.writeHeader().catch(() => undefined));
  }

  async prepareMerge(): Promise<MergeRun | null> {
    if (this.currentCommitted === 0) {
      if (this.currentArea === 0) return null;
      this.currentArea--;
      await this.serialise(() =>
        this.cowIo('read', this.areaLocation(this.currentArea), this.area, 'reading a metadata area to merge'),
      );
      this.currentCommitted = this.exceptionsPerArea;
    }
    const last = this.readRecord(this.currentCommitted - 1);
    let count = 1;
    while (count < this.currentCommitted) {
      const r = this.readRecord(this.currentCommitted - 1 - count);
      if (r.oldChunk !== last.oldChunk - count || r.newChunk !== last.newChunk - count) break;
      count++;
    }
    return { lastOldChunk: last.oldChunk, lastNewChunk: last.newChunk, count };
  }

  async commitMerge(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.writeRecord(this.currentCommitted - 1 - i, 0, 0);
    const image = Buffer.from(this.area);
    await this.serialise(() =>
      this.cowIo('write', this.areaLocation(this.currentArea), image, 'writing a merged metadata area', true),
    );
    this.currentCommitted -= count;
    this.nextFree = this.areaLocation(this.currentArea) + this.currentCommitted + 1;
  }

  tableType(): 'P' | 'PO' {
    return this.overflowSupported ? 'PO' : 'P';
  }

  /** Chunk index of metadata area k. */
  areaLocation(k: number): number {
    return cowGeometry(this.chunk).areaLocation(k);
  }

  inspect(): PersistentStoreState {
    return {
      valid: this.valid,
      chunkSectors: this.chunk,
      currentArea: this.currentArea,
      currentCommitted: this.currentCommitted,
      nextFree: this.nextFree,
      pendingCount: this.pendingCount,
    };
  }

  /** The header chunk must fit on the COW; checked before a chunk-sized buffer (up to 1 GiB) is allocated. */
  private checkFits(chunk: number): void {
    if (this.cow.sizeSectors < chunk) {
      throw new IoError(
        `${this.cow.name}: the COW (${this.cow.sizeSectors} sectors) is smaller than one chunk (${chunk} sectors)`,
      );
    }
  }

  private setGeometry(): void {
    this.exceptionsPerArea = cowGeometry(this.chunk).exceptionsPerArea;
    this.area = Buffer.alloc(this.chunk * SECTOR_SIZE);
  }

  private skipMetadata(): void {
    this.nextFree = cowGeometry(this.chunk).skipMetadata(this.nextFree);
  }

  /**
   * read_exceptions: the areas in order until one is not full, with up to PREFETCH_AREAS reads in flight ahead of
   * the one parsed (the kernel's dm_bufio_prefetch), none past the end of the COW. A read ahead that fails
   * matters only if the table reaches that area; then it fails as the kernel's dm_bufio_read would there.
   */
  private async readExceptions(add: (oldChunk: number, newChunk: number) => void): Promise<void> {
    const ahead: Array<Promise<Buffer | Error>> = [];
    // One buffer per area in flight, reused round the ring: area k reads into buffers[k % length].
    const buffers = Array.from({ length: PREFETCH_AREAS + 1 }, () => Buffer.allocUnsafe(this.area.length));
    let prefetched = 0;
    for (this.currentArea = 0; ; this.currentArea++) {
      for (; prefetched <= this.currentArea + PREFETCH_AREAS; prefetched++) {
        const at = this.areaLocation(prefetched);
        if ((at + 1) * this.chunk > this.cow.sizeSectors && prefetched > this.currentArea) break;
        const k = prefetched;
        const buf = buffers[k % buffers.length]!;
        ahead.push(
          this.cowIo('read', at, buf, `reading metadata area ${k}`).then(
            () => buf,
            (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
          ),
        );
      }
      const got = await ahead.shift()!;
      if (got instanceof Error) throw got;
      got.copy(this.area);
      let full = true;
      for (let i = 0; i < this.exceptionsPerArea; i++) {
        const newChunk = readChunkNumber(this.area, i * RECORD_BYTES + 8);
        if (newChunk === 0) {
          this.currentCommitted = i;
          full = false;
          break;
        }
        if (this.nextFree <= newChunk) this.nextFree = newChunk + 1;
        add(readChunkNumber(this.area, i * RECORD_BYTES), newChunk);
      }
      if (!full) break;
    }
    // Reads still in flight past the end of the table finish unseen (their errors too).
    await Promise.all(ahead);
    this.skipMetadata();
  }

  private readRecord(i: number): { oldChunk: number; newChunk: number } {
    return readAreaRecord(this.area, i);
  }

  private writeRecord(i: number, oldChunk: number, newChunk: number): void {
    this.area.writeBigUInt64LE(BigInt(oldChunk), i * RECORD_BYTES);
    this.area.writeBigUInt64LE(BigInt(newChunk), i * RECORD_BYTES + 8);
  }

  private async writeHeader(): Promise<void> {
    const header = Buffer.alloc(this.chunk * SECTOR_SIZE);
    header.writeUInt32LE(SNAP_MAGIC, 0);
    header.writeUInt32LE(this.valid ? 1 : 0, 4);
    header.writeUInt32LE(SNAPSHOT_DISK_VERSION, 8);
    header.writeUInt32LE(this.chunk, 12);
    // A plain write, as the kernel's write_header (the next area commit's preflush makes it durable).
    await this.cowIo('write', 0, header, 'writing the snapshot header');
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.ioChain.then(fn, fn);
    this.ioChain = run.catch(() => undefined);
    return run;
  }

  private async tryIo(op: 'read' | 'write', chunk: number, buf: Buffer, flushed = false): Promise<boolean> {
    try {
      await this.cowIo(op, chunk, buf, 'metadata', flushed);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * One whole-chunk transfer. `flushed` is REQ_PREFLUSH | REQ_FUA: everything written before (the copied data)
   * is made durable first, then this write itself, so a record never reaches the disk before its data.
   */
  private async cowIo(op: 'read' | 'write', chunk: number, buf: Buffer, what: string, flushed = false): Promise<void> {
    const sector = chunk * this.chunk;
    try {
      if (op === 'read') await this.cow.read(sector, buf);
      else {
        const count = buf.length / SECTOR_SIZE;
        const bio = { op: 'write', sector, count, buf, flags: SYNC_IO_FLAGS, preflush: flushed, fua: flushed } as const;
        await submitBio(this.cow, bio, sector);
      }
    } catch (e) {
      if (e instanceof DmError && e.code !== 'EIO') throw e;
      throw new IoError(
        `${this.cow.name}: ${what} (chunk ${chunk}, sector ${sector}) failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
}
