// Crash: the process dies in the middle of origin writes. Simulated at the device layer (the daemon is not
// used here): origin and COW are files; after the k-th write reaches them nothing more does (everything the
// dying process would still do is dropped), the files are re-opened and the snapshot re-activated from the COW.
// It must still read exactly the data it had at creation, whatever k was. fast-check draws the cases from
// seeds 1 and 2 every run plus a fresh one (printed; DMSIM_SEED=N replays one).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BlockDevice } from '../../src/block/block-device.js';
import { FileDevice } from '../../src/block/file-device.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { originTargetType } from '../../targets/snapshot/origin.js';
import { snapshotTargetType } from '../../targets/snapshot/snapshot.js';
import { seedsToRun } from '../support/seeds.js';
import { cowImage, pattern } from './support/pattern.js';
import { Rig, read, write } from './support/rig.js';

const SEEDS = seedsToRun('snapshot crash', [1, 2]);

/** Passes I/O through until the power is cut; after that writes, flushes and discards vanish. */
class PowerCut implements BlockDevice {
  constructor(
    private readonly dev: BlockDevice,
    private readonly budget: { writes: number },
  ) {}
  get name(): string {
    return this.dev.name;
  }
  get sizeSectors(): number {
    return this.dev.sizeSectors;
  }
  get readOnly(): boolean {
    return this.dev.readOnly;
  }
  read(sector: number, buf: Buffer): Promise<void> {
    return this.dev.read(sector, buf);
  }
  async write(sector: number, buf: Buffer): Promise<void> {
    if (this.budget.writes-- > 0) await this.dev.write(sector, buf);
  }
  async flush(): Promise<void> {
    if (this.budget.writes > 0) await this.dev.flush();
  }
  async discard(sector: number, count: number): Promise<void> {
    if (this.budget.writes-- > 0) await this.dev.discard(sector, count);
  }
  close(): Promise<void> {
    return this.dev.close();
  }
}

const ORIGIN = 256;

/**
 * A disk with a volatile write cache: writes are held until a flush makes them durable. At the crash (the
 * `budget` of device operations runs out) a random subset of the held writes reaches the disk, in any order
 * relative to each other, and nothing later does. This is what REQ_PREFLUSH | REQ_FUA protect against.
 */
class VolatileCache implements BlockDevice {
  private held: { sector: number; data: Buffer }[] = [];
  constructor(
    readonly disk: MemoryDevice,
    private readonly clock: { ops: number; crashed: boolean; keep: (i: number) => boolean; others: VolatileCache[] },
  ) {
    clock.others.push(this);
  }
  get name(): string {
    return this.disk.name;
  }
  get sizeSectors(): number {
    return this.disk.sizeSectors;
  }
  get readOnly(): boolean {
    return false;
  }
  async read(sector: number, buf: Buffer): Promise<void> {
    await this.disk.read(sector, buf);
    for (const w of this.held) {
      const from = Math.max(sector, w.sector);
      const to = Math.min(sector + buf.length / 512, w.sector + w.data.length / 512);
      if (from < to) w.data.copy(buf, (from - sector) * 512, (from - w.sector) * 512, (to - w.sector) * 512);
    }
  }
  async write(sector: number, buf: Buffer): Promise<void> {
    if (this.tick()) this.held.push({ sector, data: Buffer.from(buf) });
  }
  async flush(): Promise<void> {
    if (!this.tick()) return;
    for (const w of this.held) await this.disk.write(w.sector, w.data);
    this.held = [];
  }
  async discard(): Promise<void> {}
  async close(): Promise<void> {}
  /** Counts one operation; false once the power is gone. */
  private tick(): boolean {
    if (this.clock.crashed) return false;
    if (--this.clock.ops > 0) return true;
    this.clock.crashed = true;
    for (const dev of this.clock.others) {
      dev.held.forEach((w, i) => {
        if (this.clock.keep(i)) void dev.disk.write(w.sector, w.data);
      });
      dev.held = [];
    }
    return false;
  }
}

describe('crash in the middle of origin writes', () => {
  it.each(SEEDS)(
    'seed %i: re-activation from the COW file still reads the data the snapshot had at creation',
    async (seed) => {
      const dir = await mkdtemp(join(tmpdir(), 'dmsim-snap-crash-'));
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(1, 8, 16),
            fc.array(fc.record({ sector: fc.nat(ORIGIN - 8), count: fc.integer({ min: 1, max: 8 }) }), {
              minLength: 1,
              maxLength: 20,
            }),
            fc.nat(60),
            async (chunk, writes, cutAfter) => {
              const originPath = join(dir, 'origin.img');
              const cowPath = join(dir, 'cow.img');
              await writeFile(originPath, pattern('OLD', 0, ORIGIN));
              await writeFile(cowPath, cowImage(2 * ORIGIN + 64 * chunk));
              const budget = { writes: Number.MAX_SAFE_INTEGER };
              const rig = new Rig();
              const files = [await FileDevice.open(originPath), await FileDevice.open(cowPath)];
              rig.devices.set('origin.img', new PowerCut(files[0]!, budget));
              rig.devices.set('cow.img', new PowerCut(files[1]!, budget));
              const origin = await rig.create(originTargetType, 'origin', ORIGIN, ['origin.img']);
              const snap = await rig.create(snapshotTargetType, 'snap', ORIGIN, [
                'origin.img',
                'cow.img',
                'P',
                String(chunk),
              ]);
              await snap.target.resume?.();
              await origin.target.resume?.();
              budget.writes = cutAfter; // the crash comes after this many more device writes
              await Promise.allSettled(
                writes.map((w, i) => write(origin, w.sector, pattern(`N${i % 10}`, w.sector, w.count))),
              );
              await rig.engine.whenIoIdle();
              for (const f of files) await f.close();

              const after = new Rig();
              after.devices.set('origin.img', await FileDevice.open(originPath));
              after.devices.set('cow.img', await FileDevice.open(cowPath));
              const again = await after.create(snapshotTargetType, 'snap', ORIGIN, [
                'origin.img',
                'cow.img',
                'P',
                String(chunk),
              ]);
              await again.target.resume?.();
              expect(again.target.status('info')).toMatch(/^\d+\/\d+ \d+$/);
              expect((await read(again, 0, ORIGIN)).equals(pattern('OLD', 0, ORIGIN))).toBe(true);
              await again.target.destroy();
              for (const d of after.devices.values()) await d.close();
            },
          ),
          { seed, numRuns: 20 },
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('power cut with volatile write caches', () => {
  it.each(SEEDS)(
    'seed %i: a record never reaches the disk without its data: re-activation reads the data of creation',
    async (seed) => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(1, 8),
          fc.array(fc.record({ sector: fc.nat(ORIGIN - 8), count: fc.integer({ min: 1, max: 8 }) }), {
            minLength: 1,
            maxLength: 16,
          }),
          fc.integer({ min: 1, max: 120 }),
          fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
          async (chunk, writes, ops, keepBits) => {
            const clock = {
              ops: Number.MAX_SAFE_INTEGER,
              crashed: false,
              keep: (i: number) => keepBits[i % 64]!,
              others: [] as VolatileCache[],
            };
            const originDisk = new MemoryDevice('origin', ORIGIN);
            await originDisk.write(0, pattern('OLD', 0, ORIGIN));
            const cowDisk = new MemoryDevice('cow', 2 * ORIGIN + 64 * chunk);
            const rig = new Rig();
            rig.devices.set('origin', new VolatileCache(originDisk, clock));
            rig.devices.set('cow', new VolatileCache(cowDisk, clock));
            const origin = await rig.create(originTargetType, 'origin', ORIGIN, ['origin']);
            const snap = await rig.create(snapshotTargetType, 'snap', ORIGIN, ['origin', 'cow', 'P', String(chunk)]);
            await snap.target.resume?.();
            await origin.target.resume?.();
            await rig.devices.get('cow')!.flush(); // the snapshot is created and durable; the crash comes later
            clock.ops = ops;
            await Promise.allSettled(
              writes.map((w, i) => write(origin, w.sector, pattern(`N${i % 10}`, w.sector, w.count))),
            );
            await rig.engine.whenIoIdle();

            const after = new Rig();
            after.devices.set('origin', originDisk);
            after.devices.set('cow', cowDisk);
            const again = await after.create(snapshotTargetType, 'snap', ORIGIN, ['origin', 'cow', 'P', String(chunk)]);
            await again.target.resume?.();
            expect((await read(again, 0, ORIGIN)).equals(pattern('OLD', 0, ORIGIN))).toBe(true);
          },
        ),
        { seed, numRuns: 40 },
      );
    },
  );
});
