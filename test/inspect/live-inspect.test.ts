// The inspector on live devices, one kcopyd worker pass at a time (ManualScheduler): a COW copy shows as a
// copying exception and as a job on the snapshot client's pages_jobs list, then holding its page; once committed
// the table, the layout and the usage are what reference/snapshot.md says. And a mirror's clean bits in core
// against those on the log device: the difference is what the next log flush writes.

import { describe, expect, it } from 'vitest';
import { SECTOR_SIZE } from '../../src/base/size.js';
import { KcopydEngine } from '../../src/kcopyd/engine.js';
import { ManualScheduler } from '../../src/kcopyd/scheduler.js';
import { withTestbed } from '../../src/testing/testbed.js';
import { LOG_BITS_OFFSET, MIRROR_MAGIC } from '../../targets/mirror/disk-log.js';
import { inspectLiveMirror } from '../../targets/mirror/inspect.js';
import type { SnapshotInspection } from '../../targets/snapshot/inspect.js';
import { formatSnapshotStatus } from '../../targets/snapshot/status.js';

/** What the tests read of a kcopyd client's inspection. */
interface ClientView {
  owner: string;
  nrJobs: number;
  lists: Record<string, Array<{ op: string; source: string; dests: string[]; pages: number }>>;
  pages: { reserveFree: number; reserveTotal: number; sharedUsed: number };
}

describe('inspecting a snapshot while its COW copy runs', () => {
  it('shows the copy in flight in the table, the layout and the kcopyd lists, then the committed exception', async () => {
    const scheduler = new ManualScheduler();
    const kcopyd = new KcopydEngine({ scheduler });
    await withTestbed(
      async (tb) => {
        const origin = await tb.image('origin.img', '1M');
        const cow = await tb.image('cow.img', '1M');
        await tb.dm.create('origin', `0 2048 snapshot-origin ${origin}`);
        await tb.dm.suspend('origin');
        await tb.dm.create('snap', `0 2048 snapshot ${origin} ${cow} P 8`);
        await tb.dm.resume('origin');
        const inspect = async (): Promise<SnapshotInspection & { kcopyd: unknown[] }> => {
          const [t] = await tb.dm.inspect('snap');
          return t!.inspection as unknown as SnapshotInspection & { kcopyd: unknown[] };
        };
        const fresh = await inspect();
        // A fresh store: header, area 0, next free chunk 2; status 2C/total 2C.
        expect(fresh.nextFree).toBe(2);
        expect(formatSnapshotStatus(fresh.status)).toBe('16/2048 16');

        const started = new Promise<void>((resolve) =>
          tb.bus.on((e) => {
            if (e.type === 'snapshot.copy.started') resolve();
          }),
        );
        const dev = await tb.open('origin');
        let done = false;
        const write = dev.write(24, Buffer.alloc(8 * SECTOR_SIZE, 0x4e)); // chunk 3: held until its copy commits
        void write.then(() => (done = true));
        // Worker passes until the write is through (also when an expectation failed, so teardown is not stuck).
        const drain = async (): Promise<void> => {
          while (!done) {
            await kcopyd.whenIoIdle();
            if (!scheduler.step()) await new Promise((r) => setImmediate(r));
          }
        };
        try {
          await started;
          const during = await inspect();
          expect(during.exceptions).toEqual([{ oldChunk: 3, newChunk: 2, state: 'copying' }]);
          expect(during.layout).toEqual([
            { kind: 'header', first: 0, count: 1 },
            { kind: 'metadata', first: 1, count: 1 },
            { kind: 'copying', first: 2, count: 1 },
            { kind: 'free', first: 3, count: 253 },
          ]);
          // The chunk is allocated at prepare: next_free 3, so allocated 3 x 8 while the copy runs.
          expect(formatSnapshotStatus(during.status)).toBe('24/2048 16');
          expect((await tb.dm.status('snap'))[0]!.params).toBe('24/2048 16');
          const [client] = during.kcopyd as ClientView[];
          expect(client!.owner).toBe('snapshot');
          expect(client!.nrJobs).toBe(1);
          expect(client!.lists.pages).toEqual([
            expect.objectContaining({ source: `${origin}:24+8`, dests: [`${cow}:16+8`], pages: 0 }),
          ]);
          expect(client!.lists.io).toEqual([]);
          expect(client!.pages.reserveFree).toBe(client!.pages.reserveTotal);

          // One worker pass: the job takes its page (8 sectors = 1 page; the shared pool is tried before the
          // reserve) and its read is issued; once read, it is back on io_jobs to write (complete_io).
          expect(scheduler.step()).toBe(true);
          await kcopyd.whenIoIdle();
          const written = (await inspect()).kcopyd[0] as ClientView;
          expect(written!.lists.pages).toEqual([]);
          expect(written!.lists.io).toEqual([
            expect.objectContaining({ op: 'write', source: `${origin}:24+8`, pages: 1 }),
          ]);
          expect(written!.pages.sharedUsed + written!.pages.reserveTotal - written!.pages.reserveFree).toBe(1);
        } finally {
          await drain();
        }
        const after = await inspect();
        expect(after.exceptions).toEqual([{ oldChunk: 3, newChunk: 2, state: 'committed' }]);
        expect(after.currentRecords).toBe(1);
        expect(formatSnapshotStatus(after.status)).toBe('24/2048 16');
        expect((after.kcopyd[0] as ClientView).nrJobs).toBe(0);
        await dev.close();
      },
      { kcopyd },
    );
  });
});

describe("a mirror's pending marks", () => {
  it('are the regions whose clean bit in core differs from the one on the log device', () => {
    const onDisk = Buffer.alloc(1536);
    onDisk.writeUInt32LE(MIRROR_MAGIC, 0);
    onDisk.writeUInt32LE(2, 4);
    onDisk.writeBigUInt64LE(8n, 8);
    onDisk[LOG_BITS_OFFSET] = 0b1111_0110; // regions 0 and 3 dirty on disk
    // In core: region 0 cleaned since, region 5 marked dirty by a write not yet flushed.
    const inCore = new Set([0, 1, 2, 4, 6, 7]);
    const m = inspectLiveMirror({
      log: 'disk',
      onDisk,
      logName: 'log.img',
      regionCount: 8,
      regionSectors: 128,
      syncCount: 7,
      region: (r) => ({
        clean: inCore.has(r),
        inSync: r !== 3,
        state: r === 3 ? 'nosync' : r === 5 ? 'dirty' : 'clean',
        pendingWrites: r === 5 ? 1 : 0,
      }),
    });
    expect(m.pendingMarks).toEqual({ dirtied: [5], cleaned: [0] });
    expect(m.regions.map((r) => [r.first, r.count, r.disk, r.clean, r.state])).toEqual([
      [0, 1, false, true, 'clean'],
      [1, 2, true, true, 'clean'],
      [3, 1, false, false, 'nosync'],
      [4, 1, true, true, 'clean'],
      [5, 1, true, false, 'dirty'],
      [6, 2, true, true, 'clean'],
    ]);
  });
});
