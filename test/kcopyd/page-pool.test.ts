// Page pool: kcopyd_get_pages / kcopyd_put_pages as reference/kcopyd.md section 2 describes them, and
// head-of-line blocking in pages_jobs.

import { describe, expect, it } from 'vitest';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { runUntilIdle } from '../../src/kcopyd/engine.js';
import { ClientPages, PagePool } from '../../src/kcopyd/page-pool.js';
import { GatedDevice, settle } from './fault-devices.js';
import { harness } from './harness.js';

const SECTOR = 512;

describe('ClientPages (the reserve) over PagePool (the allocator)', () => {
  it('takes from the shared pool first, then the reserve, and gives back to the reserve first', () => {
    const pool = new PagePool(2);
    const pages = new ClientPages(pool, 4);
    const set = pages.take(5)!;
    expect(set.buffer.length).toBe(5 * 4096);
    // 2 pages from the allocator, 3 from the reserve
    expect(pages.counts()).toEqual({
      reserveTotal: 4,
      reserveFree: 1,
      sharedUsed: 2,
      engineSharedUsed: 2,
      sharedLimit: 2,
    });
    pages.put(set);
    // the reserve refills first (3 pages), the other 2 go back to the allocator
    expect(pages.counts()).toEqual({
      reserveTotal: 4,
      reserveFree: 4,
      sharedUsed: 0,
      engineSharedUsed: 0,
      sharedLimit: 2,
    });
    expect(pages.allFree).toBe(true);
  });

  it('is all-or-nothing: a job that cannot get every page gets none and changes no count', () => {
    const pool = new PagePool(1);
    const a = new ClientPages(pool, 2);
    const held = a.take(2)!; // 1 shared + 1 reserve
    expect(a.take(3)).toBeNull();
    expect(a.counts()).toEqual({ reserveTotal: 2, reserveFree: 1, sharedUsed: 1, engineSharedUsed: 1, sharedLimit: 1 });
    a.put(held);
    expect(a.take(3)).not.toBeNull();
  });

  it('shares the allocator between clients; a page another client returned can serve this one', () => {
    const pool = new PagePool(3);
    const a = new ClientPages(pool, 0);
    const b = new ClientPages(pool, 1);
    const ha = a.take(3)!;
    expect(b.take(2)).toBeNull(); // 0 shared left + 1 reserve
    const hb = b.take(1)!;
    expect(b.counts().reserveFree).toBe(0);
    a.put(ha);
    expect(pool.engineSharedUsed).toBe(0);
    b.put(hb);
    expect(b.counts()).toMatchObject({ reserveFree: 1, sharedUsed: 0 });
  });

  it('with the unlimited default the allocator never fails and the reserve is never touched', () => {
    const pages = new ClientPages(new PagePool(Infinity), 8);
    const set = pages.take(1000)!;
    expect(pages.counts()).toEqual({
      reserveTotal: 8,
      reserveFree: 8,
      sharedUsed: 1000,
      engineSharedUsed: 1000,
      sharedLimit: null,
    });
    pages.put(set);
  });
});

describe('jobs and the pool', () => {
  it('a job much bigger than the pool still completes, one sub-job holding the pages at a time', async () => {
    const h = harness({ subJobSectors: 1024, sharedPoolPages: 0 });
    const client = h.engine.createClient({ owner: 't' }); // 128 pages: one sub-job's worth
    const count = 20480; // 10 MiB, 20 sub-jobs
    const src = new MemoryDevice('src', count);
    const dst = new MemoryDevice('dst', count);
    const data = Buffer.alloc(count * SECTOR);
    for (let i = 0; i < data.length; i += SECTOR) data.writeUInt32LE(i / SECTOR + 1, i);
    await src.write(0, data);
    const done = client.copyAsync({ bdev: src, sector: 0, count }, [{ bdev: dst, sector: 0, count }]);
    await runUntilIdle(h.engine);
    expect(await done).toEqual({ readErr: false, writeErr: 0 });
    const got = Buffer.alloc(count * SECTOR);
    await dst.read(0, got);
    expect(got.equals(data)).toBe(true);
    const pool = h.events.flatMap((e) => (e.type === 'kcopyd.pool' ? [e] : []));
    expect(Math.min(...pool.map((e) => e.reserveFree))).toBe(0);
    expect(Math.max(...pool.map((e) => e.sharedUsed))).toBe(0);
    expect(h.jobEvents('pages-wait').length).toBeGreaterThan(0); // the other 7 slots waited their turn
    expect(pool.at(-1)).toMatchObject({ reserveFree: 128, reserveTotal: 128 });
  });

  it('a waiting job is not overtaken by a later, smaller one (head-of-line blocking)', async () => {
    const h = harness({ subJobSectors: 32, sharedPoolPages: 0 });
    const client = h.engine.createClient({ owner: 't', reservePages: 4 });
    const src = new GatedDevice('src', 128);
    const dst = new GatedDevice('dst', 128);
    const order: string[] = [];
    client.copy(
      { bdev: src, sector: 0, count: 32 },
      [{ bdev: dst, sector: 0, count: 32 }],
      {},
      () => order.push('A'),
      null,
    ); // 4 pages
    h.step();
    client.copy(
      { bdev: src, sector: 32, count: 32 },
      [{ bdev: dst, sector: 32, count: 32 }],
      {},
      () => order.push('B'),
      null,
    ); // 4 pages
    client.copy(
      { bdev: src, sector: 64, count: 8 },
      [{ bdev: dst, sector: 64, count: 8 }],
      {},
      () => order.push('C'),
      null,
    ); // 1 page
    h.step();
    expect(h.jobEvents('pages-taken').map((e) => e.job)).toEqual([1]);
    expect(h.jobEvents('pages-wait').map((e) => e.job)).toEqual([2]); // C never even asked: B blocks the list

    // A finishes: its 4 pages go to B, and C still waits although it needs only 1.
    src.release();
    await settle();
    h.step();
    dst.release();
    await settle();
    h.step();
    expect(h.jobEvents('pages-taken').map((e) => e.job)).toEqual([1, 2]);
    expect(h.jobEvents('pages-wait').map((e) => e.job)).toEqual([2, 3]);

    for (
      let guard = 0;
      guard < 20 && (src.waiting.length || dst.waiting.length || h.scheduler.pending.length);
      guard++
    ) {
      while (h.scheduler.step()) {}
      if (src.waiting.length) src.release();
      else if (dst.waiting.length) dst.release();
      await settle();
    }
    expect(order).toEqual(['A', 'B', 'C']);
    expect(h.jobEvents('pages-taken').map((e) => e.job)).toEqual([1, 2, 3]);
  });

  it('pages are sized from dests[0].count: ceil(count / 8)', async () => {
    const h = harness({ subJobSectors: 64 });
    const client = h.engine.createClient({ owner: 't' });
    const dev = new MemoryDevice('m', 256);
    const done = client.copyAsync({ bdev: dev, sector: 0, count: 17 }, [{ bdev: dev, sector: 100, count: 17 }]);
    await runUntilIdle(h.engine);
    await done;
    expect(h.jobEvents('pages-taken').map((e) => e.pages)).toEqual([3]);
  });
});
