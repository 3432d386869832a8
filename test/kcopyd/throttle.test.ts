// Throttle: io_job_start / io_job_finish (dm-kcopyd.c) on a fake clock. The expected numbers are worked out
// by hand from the kernel's algorithm (1 ms = 1 jiffy, decay at 1024): no timers, no wall time.

import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/base/clock.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { KcopydThrottle } from '../../src/kcopyd/throttle.js';
import { settle } from './fault-devices.js';
import { harness } from './harness.js';

class FakeClock implements Clock {
  time = 0;
  private timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.time;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const t = { at: this.time + ms, fn };
    this.timers.push(t);
    return () => (this.timers = this.timers.filter((x) => x !== t));
  }
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const t of due) t.fn();
  }
}

describe('KcopydThrottle accounting', () => {
  it('never waits at 100% or more', () => {
    const t = new KcopydThrottle(100);
    t.mustWait(0, 0);
    t.started();
    t.finished(5000);
    expect(t.mustWait(5000, 0)).toBe(false);
  });

  it('waits while busy time exceeds the percentage of total time, halving both past 1024 ms', () => {
    const t = new KcopydThrottle(50);
    expect(t.mustWait(0, 0)).toBe(false);
    t.started();
    t.finished(1000); // 1000 ms busy out of 1000
    expect(t.periods).toEqual({ io: 1000, total: 1000, inFlight: 0 });
    expect(t.mustWait(1000, 0)).toBe(true); // skew 1000 - 500
    expect(t.mustWait(1100, 1)).toBe(true); // total 1100 -> halved: 550 / 500, skew 225
    expect(t.periods).toEqual({ io: 500, total: 550, inFlight: 0 });
    expect(t.mustWait(1500, 2)).toBe(true); // 950 / 500: skew 25
    expect(t.mustWait(1600, 3)).toBe(false); // 1050 -> 525 / 250: skew -12
  });

  it('gives up after 10 sleeps however far over the limit', () => {
    const t = new KcopydThrottle(0);
    t.mustWait(0, 0);
    t.started();
    t.finished(10);
    expect(t.mustWait(10, 9)).toBe(true);
    expect(t.mustWait(10, 10)).toBe(false);
  });
});

describe('a throttled client', () => {
  it('sleeps its whole worker 100 ms at a time on the engine clock before issuing I/O', async () => {
    const clock = new FakeClock();
    const h = harness({ subJobSectors: 8, clock });
    const client = h.engine.createClient({ owner: 't', throttle: 50 });
    const dev = new MemoryDevice('m', 128);
    const done = client.copyAsync({ bdev: dev, sector: 0, count: 32 }, [{ bdev: dev, sector: 64, count: 32 }]);
    h.step(); // 4 reads issued at t=0
    expect(h.jobEvents('read-issued')).toHaveLength(4);
    clock.advance(1000); // the reads take 1000 ms
    await settle();
    const writesAt: number[] = [];
    for (let guard = 0; guard < 50 && writesAt.length === 0; guard++) {
      while (h.scheduler.step()) {}
      if (h.jobEvents('write-issued').length > 0) writesAt.push(clock.time);
      else clock.advance(100);
    }
    // Sleeps at 1000, 1100, ..., 1500 (see the accounting test), the writes go at 1600.
    expect(writesAt).toEqual([1600]);
    expect(h.events.filter((e) => e.type === 'kcopyd.throttle')).toHaveLength(6);
    expect(h.jobEvents('write-issued')).toHaveLength(4);
    await settle();
    while (h.scheduler.step()) {}
    expect(await done).toEqual({ readErr: false, writeErr: 0 });
  });

  it('queues wakes that arrive while asleep and runs them after the sleep', async () => {
    const clock = new FakeClock();
    const h = harness({ subJobSectors: 8, clock });
    const shared = new KcopydThrottle(0);
    const client = h.engine.createClient({ owner: 't', throttle: shared });
    const dev = new MemoryDevice('m', 128);
    const first = client.copyAsync({ bdev: dev, sector: 0, count: 8 }, [{ bdev: dev, sector: 64, count: 8 }]);
    h.step();
    clock.advance(10);
    await settle();
    h.step(); // the write must wait: the worker sleeps
    expect(h.events.filter((e) => e.type === 'kcopyd.throttle')).toHaveLength(1);
    const cb = client.prepareCallback(() => undefined, null);
    cb.doCallback(false, 0); // a wake while asleep: no pass until the sleep ends
    expect(h.scheduler.pending).toHaveLength(0);
    shared.throttle = 100; // lift the limit (a module parameter write)
    clock.advance(100);
    expect(h.scheduler.pending).toHaveLength(1);
    h.step(); // the rest of the interrupted pass: issue the write
    expect(h.jobEvents('write-issued')).toHaveLength(1);
    expect(h.scheduler.pending).toHaveLength(1); // and the wake that came during the sleep
    await settle();
    while (h.scheduler.step()) {}
    expect(await first).toEqual({ readErr: false, writeErr: 0 });
  });
});
