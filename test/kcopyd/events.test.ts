// The events a viewer rebuilds kcopyd from (the TUI uses nothing else): one job's whole life, with the
// fields it needs, and an I/O error tied to its job and device.

import { describe, expect, it, vi } from 'vitest';
import { type DmEvent, EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { KcopydEngine, runUntilIdle } from '../../src/kcopyd/engine.js';
import { ManualScheduler } from '../../src/kcopyd/scheduler.js';
import { reduce, reduceAll } from '../../tui/store/reduce.js';
import { initialState } from '../../tui/store/view-state.js';
import { FaultyDevice } from './fault-devices.js';
import { harness, phases } from './harness.js';

describe('kcopyd events', () => {
  it('an unsplit copy goes queued > pages > read > io_jobs > write > complete > callback, naming its regions', async () => {
    const h = harness();
    const client = h.engine.createClient({ owner: 'snapshot' });
    const a = new MemoryDevice('origin', 64);
    const b = new MemoryDevice('cow', 64);
    const done = client.copyAsync({ bdev: a, sector: 8, count: 16 }, [{ bdev: b, sector: 32, count: 16 }]);
    await runUntilIdle(h.engine);
    await done;
    expect(phases(h.jobEvents())).toEqual([
      '1:queued>pages_jobs',
      '1:pages-taken',
      '1:read-issued',
      '1:read-done',
      '1:queued>io_jobs',
      '1:write-issued',
      '1:write-done',
      '1:queued>complete_jobs',
      '1:complete',
      '1:callback-done',
    ]);
    expect(h.jobEvents('pages-taken')[0]).toMatchObject({
      client: client.id,
      owner: 'snapshot',
      job: 1,
      master: 1,
      slot: null,
      kind: 'copy',
      source: { device: 'origin', sector: 8, count: 16 },
      dests: [{ device: 'cow', sector: 32, count: 16 }],
      pages: 2,
    });
    const pool = h.events.flatMap((e) => (e.type === 'kcopyd.pool' ? [e] : []));
    expect(pool.map((e) => e.engineSharedUsed)).toEqual([0, 2, 0]); // created, pages taken, pages back
    const queues = h.events.flatMap((e) => (e.type === 'kcopyd.queues' ? [e] : []));
    expect(queues.at(-1)).toMatchObject({ pagesJobs: 0, ioJobs: 0, completeJobs: 0, callbackJobs: 0, nrJobs: 0 });
    expect(h.events.filter((e) => e.type === 'kcopyd.pass').length).toBeGreaterThanOrEqual(3);
  });

  it('an I/O error names the job, the device and the sectors, and the completion carries the bits', async () => {
    const h = harness();
    const client = h.engine.createClient({ owner: 'mirror' });
    const src = new FaultyDevice('leg0', 64);
    const d0 = new FaultyDevice('leg1', 64);
    const d1 = new FaultyDevice('leg2', 64);
    d1.badWrites.add(20);
    const done = client.copyAsync({ bdev: src, sector: 16, count: 8 }, [
      { bdev: d0, sector: 16, count: 8 },
      { bdev: d1, sector: 16, count: 8 },
    ]);
    await runUntilIdle(h.engine);
    expect(await done).toEqual({ readErr: false, writeErr: 0b10 });
    const errors = h.events.flatMap((e) => (e.type === 'kcopyd.io-error' ? [e] : []));
    expect(errors).toEqual([
      expect.objectContaining({
        client: client.id,
        owner: 'mirror',
        job: 1,
        master: 1,
        op: 'write',
        dest: 1,
        device: 'leg2',
        sector: 16,
        count: 8,
        code: 'EIO',
      }),
    ]);
    expect(h.events.filter((e) => e.type === 'io.error')).toEqual([
      expect.objectContaining({ device: 'leg2', op: 'write', sector: 16, count: 8 }),
    ]);
    expect(h.jobEvents('complete')[0]).toMatchObject({ readErr: false, writeErr: 2 });
  });

  it('a split job reports its chunks in flight and done', async () => {
    const h = harness({ subJobSectors: 8 });
    const client = h.engine.createClient({ owner: 't' });
    const dev = new MemoryDevice('m', 128);
    const done = client.copyAsync({ bdev: dev, sector: 0, count: 40 }, [{ bdev: dev, sector: 64, count: 40 }]);
    await runUntilIdle(h.engine);
    await done;
    const progress = h.events.flatMap((e) => (e.type === 'kcopyd.progress' ? [e] : []));
    expect(progress[0]).toMatchObject({
      job: 1,
      totalSectors: 40,
      handedOut: 8,
      inFlight: 1,
      chunks: 5,
      chunksDone: 0,
    });
    expect(progress.at(-1)).toMatchObject({
      job: 1,
      totalSectors: 40,
      handedOut: 40,
      doneSectors: 40,
      inFlight: 0,
      chunks: 5,
      chunksDone: 5,
    });
  });

  it('a listener that takes only progress gets the same progress, and no other kcopyd event is built', async () => {
    const copy = async (bus: EventBus): Promise<void> => {
      const engine = new KcopydEngine({ bus, scheduler: new ManualScheduler(), subJobSectors: 8 });
      const a = new MemoryDevice('a', 64);
      const b = new MemoryDevice('b', 64);
      const done = engine
        .createClient({ owner: 'copy' })
        .copyAsync({ bdev: a, sector: 0, count: 40 }, [{ bdev: b, sector: 0, count: 40 }]);
      await runUntilIdle(engine);
      await done;
    };
    const progressOf = (events: DmEvent[]): number[] =>
      events.flatMap((e) => (e.type === 'kcopyd.progress' ? [e.doneSectors] : []));
    const all: DmEvent[] = [];
    const full = new EventBus();
    full.on((e) => all.push(e));
    await copy(full);

    const some: DmEvent[] = [];
    const narrow = new EventBus();
    narrow.on(
      (e) => some.push(e),
      (type) => type === 'kcopyd.progress',
    );
    const emit = vi.spyOn(narrow, 'emit');
    await copy(narrow);
    expect(some.map((e) => e.type)).toEqual(progressOf(some).map(() => 'kcopyd.progress'));
    expect(progressOf(some)).toEqual(progressOf(all));
    expect(progressOf(some).at(-1)).toBe(40);
    expect(new Set(emit.mock.calls.map(([type]) => type))).toEqual(new Set(['kcopyd.progress']));
  });

  it('wants() follows the subscriptions and their filters', () => {
    const bus = new EventBus();
    expect(bus.wants('kcopyd.job')).toBe(false);
    const offNarrow = bus.on(
      () => undefined,
      (type) => type === 'kcopyd.progress',
    );
    expect([bus.wants('kcopyd.job'), bus.wants('kcopyd.progress')]).toEqual([false, true]);
    const offAll = bus.on(() => undefined);
    expect(bus.wants('kcopyd.job')).toBe(true);
    offAll();
    expect(bus.wants('kcopyd.job')).toBe(false);
    offNarrow();
    expect(bus.wants('kcopyd.progress')).toBe(false);
  });

  it('an error of a split job names the sub-job with its own range, and two sub-jobs stay two lines in the TUI', async () => {
    const h = harness({ subJobSectors: 8 });
    const client = h.engine.createClient({ owner: 'copy' });
    const src = new MemoryDevice('src', 64);
    const dst = new FaultyDevice('dst', 64);
    for (let s = 0; s < 16; s++) dst.badWrites.add(s);
    const done = client.copyAsync({ bdev: src, sector: 0, count: 16 }, [{ bdev: dst, sector: 0, count: 16 }]);
    await runUntilIdle(h.engine);
    expect(await done).toEqual({ readErr: false, writeErr: 1 });
    // Job 1 is the master; its two chunks are sub-jobs 2 (sectors 0+8) and 3 (8+8), both dispatched by split_job.
    const errors = h.events.flatMap((e) => (e.type === 'io.error' ? [e] : []));
    expect(errors.map((e) => [e.issuer, e.sector, e.count])).toEqual([
      ['kcopyd sub-job 2 of job 1', 0, 8],
      ['kcopyd sub-job 3 of job 1', 8, 8],
    ]);
    expect(errors[0]!.message).toMatch(/^kcopyd sub-job 2 of job 1 writing dst:0\+8 \(destination 0\): /);
    expect(errors[1]!.message).toMatch(/^kcopyd sub-job 3 of job 1 writing dst:8\+8 \(destination 0\): /);
    const view = reduceAll(initialState(0), h.events);
    const lines = view.log.entries.filter((e) => e.text.startsWith('write error')).map((e) => [e.text, e.repeat]);
    expect(lines).toEqual([
      [`write error at sector 8+8: ${errors[1]!.message}`, 1],
      [`write error at sector 0+8: ${errors[0]!.message}`, 1],
    ]);
    // A true repeat (the same error of the same sub-job) still folds.
    const twice = reduce(reduce(initialState(0), errors[1]!), { ...errors[1]!, seq: 1000 });
    expect(twice.log.entries).toEqual([expect.objectContaining({ text: lines[0]![0], repeat: 2 })]);
  });
});
