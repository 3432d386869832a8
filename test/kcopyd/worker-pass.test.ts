// The worker pass step by step on a manual scheduler, against dm-kcopyd.c's documented order
// (reference/kcopyd.md section 3-4): callbacks -> complete, complete drained, pages, io; callbacks
// serialised and never inside copy(); at most 8 chunks in flight, handed out in ascending order.

import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { KcopydEngine } from '../../src/kcopyd/engine.js';
import { AutoScheduler } from '../../src/kcopyd/scheduler.js';
import { type KcopydResult, WRITE_ERR_ALL } from '../../src/kcopyd/types.js';
import { GatedDevice, settle } from './fault-devices.js';
import { harness, phases } from './harness.js';

const SECTOR = 512;

async function fill(dev: { mem: MemoryDevice } | MemoryDevice, sectors: number, seed = 1): Promise<Buffer> {
  const buf = Buffer.alloc(sectors * SECTOR);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff || 1;
  await ('mem' in dev ? dev.mem : dev).write(0, buf);
  return buf;
}

async function bytes(dev: { mem: MemoryDevice }, sectors: number): Promise<Buffer> {
  const buf = Buffer.alloc(sectors * SECTOR);
  await dev.mem.read(0, buf);
  return buf;
}

describe('callbacks run on the worker only', () => {
  it('a zero-length copy completes (0, 0) through callback_jobs on the next pass, not inside copy()', () => {
    const h = harness();
    const client = h.engine.createClient({ owner: 't' });
    const dev = new MemoryDevice('m', 64);
    const calls: string[] = [];
    client.copy(
      { bdev: dev, sector: 0, count: 0 },
      [{ bdev: dev, sector: 8, count: 0 }],
      {},
      (r, w, ctx) => calls.push(`${ctx}:${r}:${w}`),
      'empty',
    );
    expect(calls).toEqual([]);
    expect(h.jobEvents('queued').map((e) => e.list)).toEqual(['callback_jobs']);
    expect(h.scheduler.pending.length).toBe(1);
    h.step();
    expect(calls).toEqual(['empty:false:0']);
  });

  it('with the automatic scheduler too, the callback of even an empty job comes after copy() returned', async () => {
    const engine = new KcopydEngine({ bus: new EventBus(), scheduler: new AutoScheduler() });
    const client = engine.createClient({ owner: 't' });
    const dev = new MemoryDevice('m', 64);
    let called = false;
    const done = new Promise<void>((resolve) =>
      client.copy(
        { bdev: dev, sector: 0, count: 0 },
        [{ bdev: dev, sector: 8, count: 0 }],
        {},
        () => {
          called = true;
          resolve();
        },
        null,
      ),
    );
    expect(called).toBe(false);
    await done;
    expect(called).toBe(true);
    await client.destroy();
  });

  it('doCallback queues the callback for the worker; it runs on the next pass with the given bits', () => {
    const h = harness();
    const client = h.engine.createClient({ owner: 't' });
    const seen: [boolean, number, string][] = [];
    const job = client.prepareCallback((r, w, ctx: string) => seen.push([r, w, ctx]), 'mine');
    job.doCallback(true, 0b101);
    expect(seen).toEqual([]);
    h.step();
    expect(seen).toEqual([[true, 5, 'mine']]);
  });
});

describe('one worker pass, in the kernel order', () => {
  it('splices callbacks after complete jobs, drains complete, then pages (head-of-line), then io', async () => {
    const h = harness({ subJobSectors: 16, sharedPoolPages: 0 });
    const client = h.engine.createClient({ owner: 't', reservePages: 2 });
    const src = new GatedDevice('src', 64);
    const dst = new GatedDevice('dst', 64);
    const order: string[] = [];

    client.copy(
      { bdev: src, sector: 0, count: 16 },
      [{ bdev: dst, sector: 0, count: 16 }],
      {},
      () => {
        order.push('A');
        d.doCallback(false, 0); // queued during the drain: must wait for the next pass
      },
      null,
    ); // job 1
    expect(phases(h.step())).toEqual(['1:pages-taken', '1:read-issued']);

    client.copy(
      { bdev: src, sector: 16, count: 16 },
      [{ bdev: dst, sector: 16, count: 16 }],
      {},
      () => order.push('B'),
      null,
    ); // job 2
    expect(phases(h.step())).toEqual(['2:pages-wait']);

    src.release();
    await settle();
    expect(phases(h.step())).toEqual(['1:write-issued']); // job 2 still blocked, reported once

    const c = client.prepareCallback(() => order.push('C'), null); // job 3
    const d = client.prepareCallback(() => order.push('D'), null); // job 4
    c.doCallback(false, 0);
    dst.release();
    await settle();
    expect(phases(h.step())).toEqual([
      '1:complete',
      '4:queued>callback_jobs',
      '1:callback-done',
      '3:complete',
      '3:callback-done',
      '2:pages-taken',
      '2:read-issued',
    ]);
    expect(order).toEqual(['A', 'C']);
    expect(phases(h.step())).toEqual(['4:complete', '4:callback-done']);
    expect(order).toEqual(['A', 'C', 'D']);

    src.release();
    await settle();
    h.step();
    dst.release();
    await settle();
    h.step();
    expect(order).toEqual(['A', 'C', 'D', 'B']);
    expect(h.scheduler.step()).toBe(false);
  });

  it('completes a split master in the same pass as its last chunk (complete_jobs is drained until empty)', async () => {
    const h = harness({ subJobSectors: 8 });
    const client = h.engine.createClient({ owner: 't' });
    const src = new GatedDevice('src', 64);
    const dst = new GatedDevice('dst', 64);
    let result: KcopydResult | null = null;
    client.copy(
      { bdev: src, sector: 0, count: 16 },
      [{ bdev: dst, sector: 0, count: 16 }],
      {},
      (readErr, writeErr) => {
        result = { readErr, writeErr };
      },
      null,
    );
    h.step();
    src.release();
    src.release();
    await settle();
    h.step();
    dst.release();
    dst.release();
    await settle();
    const last = phases(h.step());
    expect(last).toContain('1:callback-done');
    expect(last.indexOf('1:complete')).toBeGreaterThan(last.indexOf('3:callback-done'));
    expect(result).toEqual({ readErr: false, writeErr: 0 });
  });
});

describe('sub-job split', () => {
  it('hands chunks out in ascending order with at most 8 in flight, whatever order they complete in', async () => {
    const h = harness({ subJobSectors: 8 });
    const client = h.engine.createClient({ owner: 't' });
    const src = new GatedDevice('src', 200);
    const dst = new GatedDevice('dst', 200);
    const data = await fill(src, 200);
    const done = client.copyAsync({ bdev: src, sector: 0, count: 160 }, [{ bdev: dst, sector: 0, count: 160 }]);
    // split_job runs in the caller's context: 8 chunks are queued before any pass.
    expect(h.jobEvents('queued').map((e) => e.offset)).toEqual([0, 8, 16, 24, 32, 40, 48, 56]);
    let maxInFlight = 0;
    let rng = 12345;
    while (h.scheduler.pending.length > 0 || src.waiting.length + dst.waiting.length > 0) {
      while (h.scheduler.step()) {}
      const inFlight = src.waiting.length + dst.waiting.length;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (inFlight === 0) break;
      rng = (rng * 1103515245 + 12345) % 2 ** 31;
      const pick = rng % inFlight;
      if (pick < src.waiting.length) src.release((r) => r === src.waiting[pick]);
      else dst.release((r) => r === dst.waiting[pick - src.waiting.length]);
      await settle();
    }
    expect(await done).toEqual({ readErr: false, writeErr: 0 });
    const handedOut = h
      .jobEvents('queued')
      .filter((e) => e.slot !== null && e.list === 'pages_jobs')
      .map((e) => e.offset);
    expect(handedOut).toEqual(Array.from({ length: 20 }, (_, i) => i * 8));
    expect(maxInFlight).toBe(8);
    const progress = h.events.filter((e) => e.type === 'kcopyd.progress');
    expect(Math.max(...progress.map((e) => (e.type === 'kcopyd.progress' ? e.inFlight : 0)))).toBe(8);
    expect((await bytes(dst, 200)).subarray(0, 160 * SECTOR).equals(data.subarray(0, 160 * SECTOR))).toBe(true);
  });

  it('after a failed read no new chunk starts, but the chunks in flight still write', async () => {
    const h = harness({ subJobSectors: 8 });
    const client = h.engine.createClient({ owner: 't' });
    const src = new GatedDevice('src', 200);
    const dst = new GatedDevice('dst', 200);
    const data = await fill(src, 200);
    const before = await fill(dst, 200, 9);
    const done = client.copyAsync({ bdev: src, sector: 0, count: 160 }, [{ bdev: dst, sector: 0, count: 160 }]);
    h.step();
    expect(src.waiting.map((r) => r.sector)).toEqual([0, 8, 16, 24, 32, 40, 48, 56]);
    src.release((r) => r.sector === 0, true); // the chunk read fails...
    await settle();
    expect(src.waiting.filter((r) => r.sector < 8).map((r) => r.count)).toEqual([8]); // ...and is re-read page by page
    // then sector by sector: the 8 sector reads fail too
    expect(await src.failAll((r) => r.sector < 8)).toBe(1 + 8);
    while (h.scheduler.step()) {}
    for (let guard = 0; guard < 100 && src.waiting.length + dst.waiting.length > 0; guard++) {
      if (src.waiting.length) src.release();
      else dst.release();
      await settle();
      while (h.scheduler.step()) {}
    }
    expect(await done).toEqual({ readErr: true, writeErr: 0 });
    expect(h.jobEvents('queued').filter((e) => e.slot !== null && e.list === 'pages_jobs')).toHaveLength(8);
    const after = await bytes(dst, 200);
    expect(after.subarray(0, 8 * SECTOR).equals(before.subarray(0, 8 * SECTOR))).toBe(true); // failed chunk: nothing written
    expect(after.subarray(8 * SECTOR, 64 * SECTOR).equals(data.subarray(8 * SECTOR, 64 * SECTOR))).toBe(true); // in flight: written
    expect(after.subarray(64 * SECTOR).equals(before.subarray(64 * SECTOR))).toBe(true); // never started
  });
});

describe('zeroing', () => {
  it('writes zeros without taking pages, split like a copy', async () => {
    const h = harness({ subJobSectors: 8 });
    const client = h.engine.createClient({ owner: 't' });
    const dev = new MemoryDevice('m', 64);
    const dev2 = new MemoryDevice('n', 64);
    await fill(dev, 64);
    await fill(dev2, 64, 3);
    const expected = Buffer.alloc(64 * SECTOR);
    await dev.read(0, expected);
    expected.fill(0, 4 * SECTOR, 24 * SECTOR);
    const done = client.zeroAsync([
      { bdev: dev, sector: 4, count: 20 },
      { bdev: dev2, sector: 0, count: 20 },
    ]);
    expect(h.jobEvents('queued').map((e) => e.list)).toEqual(['io_jobs', 'io_jobs', 'io_jobs']);
    while (h.scheduler.step() || h.engine.ioPending > 0) await settle();
    expect(await done).toEqual({ readErr: false, writeErr: 0 });
    expect(h.jobEvents('pages-taken')).toEqual([]);
    const got = Buffer.alloc(64 * SECTOR);
    await dev.read(0, got);
    expect(got.equals(expected)).toBe(true);
    await dev2.read(0, got);
    expect(got.subarray(0, 20 * SECTOR).every((b) => b === 0)).toBe(true);
    expect(got.subarray(20 * SECTOR).some((b) => b !== 0)).toBe(true);
  });
});

describe('an unsplit job reads everything before it writes', () => {
  it('so an overlapping copy on one device moves the data like memmove', async () => {
    const h = harness({ subJobSectors: 16 });
    const client = h.engine.createClient({ owner: 't' });
    const dev = new MemoryDevice('m', 64);
    const data = await fill(dev, 64);
    const done = client.copyAsync({ bdev: dev, sector: 0, count: 16 }, [{ bdev: dev, sector: 8, count: 16 }]);
    while (h.scheduler.step() || h.engine.ioPending > 0) await settle();
    expect(await done).toEqual({ readErr: false, writeErr: 0 });
    const expected = Buffer.from(data);
    data.copy(expected, 8 * SECTOR, 0, 16 * SECTOR);
    const got = Buffer.alloc(64 * SECTOR);
    await dev.read(0, got);
    expect(got.equals(expected)).toBe(true);
  });
});

describe('WRITE_SEQ', () => {
  it('clears IGNORE_ERROR and issues the writes in offset order, whatever order the reads finish in', async () => {
    const h = harness({ subJobSectors: 8 });
    const client = h.engine.createClient({ owner: 't' });
    const src = new GatedDevice('src', 64);
    const dst = new GatedDevice('dst', 64);
    await fill(src, 64);
    const done = client.copyAsync({ bdev: src, sector: 0, count: 32 }, [{ bdev: dst, sector: 0, count: 32 }], {
      writeSeq: true,
      ignoreError: true,
    });
    expect(h.jobEvents('queued').map((e) => e.flags)).toEqual(Array(4).fill({ ignoreError: false, writeSeq: true }));
    h.step();
    for (const s of [24, 16, 8]) src.release((r) => r.sector === s);
    await settle();
    h.step();
    expect(dst.waiting).toEqual([]); // offset 0 has not been read: nobody may write
    src.release();
    await settle();
    h.step();
    expect(dst.waiting.map((r) => r.sector)).toEqual([0, 8, 16, 24]);
    while (dst.waiting.length) dst.release();
    await settle();
    h.step();
    expect(await done).toEqual({ readErr: false, writeErr: 0 });
  });

  it('fails the waiting chunks after a read error instead of stalling (the kernel would wait forever)', async () => {
    const h = harness({ subJobSectors: 8 });
    const client = h.engine.createClient({ owner: 't' });
    const src = new GatedDevice('src', 64);
    const dst = new GatedDevice('dst', 64);
    const done = client.copyAsync({ bdev: src, sector: 0, count: 24 }, [{ bdev: dst, sector: 0, count: 24 }], {
      writeSeq: true,
    });
    h.step();
    src.release((r) => r.sector === 8);
    src.release((r) => r.sector === 16);
    await src.failAll((r) => r.sector < 8); // the read and its page and sector re-reads
    while (h.scheduler.step()) {}
    expect(dst.waiting).toEqual([]);
    expect(
      h
        .jobEvents('rogue')
        .map((e) => e.offset)
        .sort((a, b) => a - b),
    ).toEqual([8, 16]);
    expect(await done).toEqual({ readErr: true, writeErr: WRITE_ERR_ALL });
    await client.destroy();
  });
});

describe('destroy()', () => {
  it('waits for outstanding jobs and prepared callbacks', async () => {
    const h = harness();
    const client = h.engine.createClient({ owner: 't' });
    const dev = new GatedDevice('g', 64);
    const prepared = client.prepareCallback(() => undefined, null);
    client.copy({ bdev: dev, sector: 0, count: 8 }, [{ bdev: dev, sector: 8, count: 8 }], {}, () => undefined, null);
    let destroyed = false;
    const d = client.destroy().then(() => (destroyed = true));
    h.step();
    dev.release();
    await settle();
    h.step();
    dev.release();
    await settle();
    h.step();
    await settle();
    expect(destroyed).toBe(false); // the copy is done, the prepared callback is not
    prepared.doCallback(false, 0);
    h.step();
    await d;
    expect(destroyed).toBe(true);
    expect(h.events.some((e) => e.type === 'kcopyd.client' && e.action === 'destroyed')).toBe(true);
  });
});

describe('one scheduler for the whole engine', () => {
  it('queues each client at most once, runs passes in wake order, one per step', () => {
    const h = harness();
    const a = h.engine.createClient({ owner: 'a' });
    const b = h.engine.createClient({ owner: 'b' });
    const ran: string[] = [];
    b.prepareCallback(() => ran.push('b1'), null).doCallback(false, 0);
    a.prepareCallback(() => ran.push('a1'), null).doCallback(false, 0);
    b.prepareCallback(() => ran.push('b2'), null).doCallback(false, 0); // b is already pending: no second entry
    expect(h.scheduler.pending.map((w) => w.owner)).toEqual(['b', 'a']);
    h.step();
    expect(ran).toEqual(['b1', 'b2']);
    h.step();
    expect(ran).toEqual(['b1', 'b2', 'a1']);
    expect(h.scheduler.step()).toBe(false);
  });

  it('an automatic scheduler can be paused, stepped while paused, and resumed', async () => {
    const scheduler = new AutoScheduler({ paused: true });
    const engine = new KcopydEngine({ bus: new EventBus(), scheduler });
    const client = engine.createClient({ owner: 't' });
    const ran: string[] = [];
    client.prepareCallback(() => ran.push('one'), null).doCallback(false, 0);
    await settle();
    expect(ran).toEqual([]); // paused: nothing runs by itself
    expect(scheduler.step()).toBe(true);
    expect(ran).toEqual(['one']);
    client.prepareCallback(() => ran.push('two'), null).doCallback(false, 0);
    scheduler.resume();
    await settle();
    expect(ran).toEqual(['one', 'two']);
    await client.destroy();
  });
});
