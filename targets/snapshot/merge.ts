// SnapshotMerge: the `snapshot-merge` target (mirrors snapshot_merge_* and the merge loop in dm-snap.c). It
// stands in for the origin while a persistent snapshot's exceptions are copied back onto it: newest records
// first, one kcopyd copy per run of consecutive chunks within an area, the other snapshots given their copies
// of the range first, the records cleared and the area committed after each run. Suspend stops the loop,
// resume restarts it, even after the merge failed (fixtures/reliability/merge-retry.out); progress is on disk
// after every run, so a new activation continues where it stopped.

import { IoError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import type { Bio } from '../../src/dm/bio.js';
import type { TargetType } from '../../src/dm/target.js';
import type { KcopydResult } from '../../src/kcopyd/types.js';
import { Snapshot } from './snapshot.js';

interface MergingRange {
  first: number;
  count: number;
  /** Resolves true when the run is committed (queued writes then go to the origin), false if the merge failed. */
  released: Promise<boolean>;
  release: (ok: boolean) => void;
}

class SnapshotMerge extends Snapshot {
  override readonly merging = true;
  protected static override readonly kcopydOwner = 'merge';
  private splitBoundary = 0;
  private stopRequested = false;
  private loop: Promise<void> | null = null;
  private range: MergingRange | null = null;

  override get maxIoSectors(): number {
    return this.splitBoundary || this.chunkSize;
  }

  override async map(bio: Bio): Promise<void> {
    if (bio.op === 'flush' || (bio.preflush && bio.count === 0)) {
      await this.flush();
      return;
    }
    if (bio.preflush) await this.flush();
    if (bio.op === 'discard') return; // snapshot-merge completes discards without doing anything
    const buf = bio.op === 'write_zeroes' ? Buffer.alloc(bio.count * SECTOR_SIZE) : bio.buf;
    if (!buf) throw new IoError(`${this.deviceName}: ${bio.op} at sector ${bio.sector} has no data buffer`);
    const write = bio.op !== 'read';
    await this.eachChunk(bio, (sector, count, offset) => {
      const part = buf.subarray(offset * SECTOR_SIZE, (offset + count) * SECTOR_SIZE);
      return write ? this.mergeWrite(sector, part) : this.mergeRead(sector, part);
    });
    if (write && bio.fua) await this.origin.bdev.flush();
  }

  async presuspend(): Promise<void> {
    await this.stopMerge();
  }

  override async resume(): Promise<void> {
    await super.resume();
    this.splitBoundary = this.registry.minimumChunkSize(this.origin.bdev);
    this.startMerge();
  }

  override async destroy(): Promise<void> {
    await this.stopMerge();
    await super.destroy();
  }

  /** Two flushes: the origin and the COW. */
  protected override async flush(): Promise<void> {
    await Promise.all([this.origin.bdev.flush(), this.cow.bdev.flush()]);
  }

  private async mergeRead(sector: number, buf: Buffer): Promise<void> {
    const e = this.valid ? this.complete.get(Math.floor(sector / this.chunkSize)) : undefined;
    if (e !== undefined) await this.cow.bdev.read(this.remap(e, sector), buf);
    else await this.origin.bdev.read(sector, buf);
  }

  private async mergeWrite(sector: number, buf: Buffer): Promise<void> {
    const chunk = Math.floor(sector / this.chunkSize);
    const e = this.valid ? this.complete.get(chunk) : undefined;
    if (e === undefined) {
      // Not (or no longer) in the COW: the merge target acts as the origin, other snapshots copy first.
      await this.registry.originWrite(this.origin.bdev, sector, () => this.origin.bdev.write(sector, buf), false);
      return;
    }
    const range = this.range;
    if (range && chunk >= range.first && chunk < range.first + range.count) {
      // Being merged right now: queued, then written to the origin once the run is committed.
      if (!(await range.released)) throw new IoError(`${this.deviceName}: write at sector ${sector}: the merge failed`);
      await this.origin.bdev.write(sector, buf);
      return;
    }
    await this.tracker.track(chunk, () => this.cow.bdev.write(this.remap(e, sector), buf));
  }

  private startMerge(): void {
    if (this.loop) return;
    this.stopRequested = false;
    this.loop = this.mergeLoop().finally(() => {
      this.loop = null;
    });
  }

  private async stopMerge(): Promise<void> {
    this.stopRequested = true;
    await this.loop;
  }

  private state(state: 'running' | 'stopped' | 'finished' | 'failed', reason: string): void {
    this.ctx.bus.emit('snapshot.merge.state', { device: this.deviceName, state, reason });
  }

  /** snapshot_merge_next_chunks + merge_callback, one run per turn until nothing is left or a stop is asked. */
  private async mergeLoop(): Promise<void> {
    this.state('running', 'merge started');
    for (;;) {
      if (this.stopRequested) return this.state('stopped', 'suspended');
      // Like snapshot_merge_next_chunks, nothing asks merge_failed: a resume after a failure merges again,
      // while the status keeps saying Merge failed until a new table is loaded.
      if (!this.valid) return this.state('stopped', "Snapshot is invalid: can't merge");
      let run: Awaited<ReturnType<NonNullable<typeof this.store.prepareMerge>>>;
      try {
        run = await this.store.prepareMerge!();
      } catch {
        return this.fail('Read error in exception store: shutting down merge');
      }
      if (!run) return this.state('finished', 'no exceptions left');
      const c = this.chunkSize;
      const first = run.lastOldChunk + 1 - run.count;
      const firstNew = run.lastNewChunk + 1 - run.count;
      const ioSize = run.count * c;
      const dest = first * c;
      const count = Math.min(ioSize, this.origin.bdev.sizeSectors - dest);
      // The other snapshots copy the range before the merge overwrites it on the origin.
      const step = this.registry.minimumChunkSize(this.origin.bdev) || c;
      for (;;) {
        const waits = [];
        for (let n = 0; n < ioSize; n += step) waits.push(...this.registry.triggerCopies(this.origin.bdev, dest + n));
        if (waits.length === 0) break;
        await Promise.all(waits);
      }
      let release!: (ok: boolean) => void;
      const released = new Promise<boolean>((resolve) => (release = resolve));
      this.range = { first, count: run.count, released, release };
      for (let i = 0; i < run.count; i++) await this.tracker.drain(first + i);
      // copy(), not copyAsync(): its return names the job for snapshot.merge.progress.
      let job!: number;
      const r = await new Promise<KcopydResult>((resolve) => {
        job = this.kcopyd.copy(
          { bdev: this.cow.bdev, sector: firstNew * c, count },
          [{ bdev: this.origin.bdev, sector: dest, count }],
          {},
          (readErr, writeErr) => resolve({ readErr, writeErr }),
          undefined,
        );
      });
      if (r.readErr || r.writeErr) return this.fail(`${r.readErr ? 'Read' : 'Write'} error: shutting down merge.`);
      try {
        await this.origin.bdev.flush();
      } catch {
        return this.fail('Flush after merge failed: shutting down merge');
      }
      try {
        await this.store.commitMerge!(run.count);
      } catch {
        return this.fail('Write error in exception store: shutting down merge');
      }
      // remove_single_exception_chunk, last chunk first: a record the store gave that the table never loaded
      // (the zeroed records of a commit that failed, read again after a resume) stops the merge.
      for (let chunk = first + run.count - 1; chunk >= first; chunk--) {
        if (!this.complete.delete(chunk))
          return this.fail(`Corruption detected: exception for block ${chunk} is on disk but not in memory`);
      }
      this.range = null;
      release(true);
      const u = this.store.usage();
      this.ctx.bus.emit('snapshot.merge.progress', {
        device: this.deviceName,
        firstOldChunk: first,
        firstNewChunk: firstNew,
        chunks: run.count,
        sectorsAllocated: u.sectorsAllocated,
        metadataSectors: u.metadataSectors,
        job,
      });
    }
  }

  /** The merge loop's `shut:` label: merge_failed set, queued writes errored. No dm event (6.1 raises none). */
  private fail(reason: string): void {
    this.mergeFailed = true;
    this.range?.release(false);
    this.range = null;
    this.state('failed', reason);
  }

  static override readonly type: TargetType = {
    name: 'snapshot-merge',
    version: [1, 5, 0],
    create: (ctx, args) => Snapshot.build(ctx, args, true, (a, o, c, s, h) => new SnapshotMerge(ctx, a, o, c, s, h)),
  };
}

export const mergeTargetType = SnapshotMerge.type;
