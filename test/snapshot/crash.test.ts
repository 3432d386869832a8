// Crash: the process dies in the middle of origin writes. Simulated at the device layer (the daemon is not
// used here): origin and COW are files; after the k-th write reaches them nothing more does (everything the
// dying process would still do is dropped), the files are re-opened and the snapshot re-activated from the COW.
// It must still read exactly the data it had at creation, whatever k was.

import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BlockDevice } from '../../src/block/block-device.js';
import { FileDevice } from '../../src/block/file-device.js';
import { originTargetType } from '../../targets/snapshot/origin.js';
import { snapshotTargetType } from '../../targets/snapshot/snapshot.js';
import { cowImage, pattern } from './support/pattern.js';
import { read, Rig, write } from './support/rig.js';

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

describe('crash in the middle of origin writes', () => {
  it('re-activation from the COW file still reads the data the snapshot had at creation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dmsim-snap-crash-'));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(1, 8, 16),
          fc.array(fc.record({ sector: fc.nat(ORIGIN - 8), count: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 20 }),
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
            const snap = await rig.create(snapshotTargetType, 'snap', ORIGIN, ['origin.img', 'cow.img', 'P', String(chunk)]);
            await snap.target.resume?.();
            await origin.target.resume?.();
            budget.writes = cutAfter; // the crash comes after this many more device writes
            await Promise.allSettled(writes.map((w, i) => write(origin, w.sector, pattern(`N${i % 10}`, w.sector, w.count))));
            await rig.engine.whenIoIdle();
            for (const f of files) await f.close();

            const after = new Rig();
            after.devices.set('origin.img', await FileDevice.open(originPath));
            after.devices.set('cow.img', await FileDevice.open(cowPath));
            const again = await after.create(snapshotTargetType, 'snap', ORIGIN, ['origin.img', 'cow.img', 'P', String(chunk)]);
            await again.target.resume?.();
            expect(again.target.status('info')).toMatch(/^\d+\/\d+ \d+$/);
            expect((await read(again, 0, ORIGIN)).equals(pattern('OLD', 0, ORIGIN))).toBe(true);
            await again.target.destroy();
            for (const d of after.devices.values()) await d.close();
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
