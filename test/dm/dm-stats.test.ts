// dm-stats' counters on a stepped clock, against the kernel's documentation of each field
// (Documentation/admin-guide/device-mapper/statistics.rst) and dm-stats.c's rules: ticks are the requests'
// durations, io_ticks the time anything was in flight, time_in_queue that time weighted by the requests in flight,
// a request spanning areas counts in each, a histogram slot i holds durations in [bound[i-1], bound[i]).

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';
import { DmStats } from '../../src/dm/dm-stats.js';

/** The 13 counters of the first line of `@stats_print ID`, and its histogram. */
function counters(stats: DmStats, id: number, line = 0) {
  const words = stats
    .message(['@stats_print', String(id)], 1024)!
    .split('\n')
    [line]!.split(' ');
  const n = words.slice(1, 14).map(Number);
  return {
    reads: n[0],
    readSectors: n[2],
    readTicks: n[3],
    writes: n[4],
    writeMerges: n[5],
    writeSectors: n[6],
    writeTicks: n[7],
    inFlight: n[8],
    ioTicks: n[9],
    timeInQueue: n[10],
    readIoTicks: n[11],
    writeIoTicks: n[12],
    histogram: words[14],
  };
}

describe('dm-stats counters', () => {
  it('ticks, io_ticks and time_in_queue of two overlapping requests', () => {
    const clock = new ManualClock(1000);
    const stats = new DmStats(clock);
    expect(stats.message(['@stats_create', '-', '/1'], 1024)).toBe('0');
    const a = stats.start('read', 0, 8)!;
    clock.advance(10);
    const b = stats.start('write', 8, 8)!;
    expect(counters(stats, 0)).toMatchObject({ inFlight: 2, ioTicks: 10, timeInQueue: 10 });
    clock.advance(5);
    stats.end(a);
    clock.advance(20);
    stats.end(b);
    // read 0..15, write 10..35: busy 35 ms, 15 + 25 ms of requests in flight.
    expect(counters(stats, 0)).toMatchObject({
      reads: 1,
      readSectors: 8,
      readTicks: 15,
      writes: 1,
      writeSectors: 8,
      writeTicks: 25,
      inFlight: 0,
      ioTicks: 35,
      timeInQueue: 40,
      readIoTicks: 15,
      writeIoTicks: 25,
    });
    // Nothing in flight: the counters stay as they are while time passes.
    clock.advance(100);
    expect(counters(stats, 0)).toMatchObject({ ioTicks: 35, timeInQueue: 40 });
  });

  it('a request across two areas counts once in each, with the sectors that fall in it', () => {
    const clock = new ManualClock();
    const stats = new DmStats(clock);
    stats.message(['@stats_create', '0+64', '16'], 1024);
    stats.end(stats.start('write', 12, 8)!);
    expect(counters(stats, 0, 0)).toMatchObject({ writes: 1, writeSectors: 4 });
    expect(counters(stats, 0, 1)).toMatchObject({ writes: 1, writeSectors: 4 });
    expect(counters(stats, 0, 2)).toMatchObject({ writes: 0, writeSectors: 0 });
  });

  it('a write that starts where the last write ended is merged; a read there is not', () => {
    const stats = new DmStats(new ManualClock());
    stats.message(['@stats_create', '-', '/1'], 1024);
    stats.end(stats.start('write', 0, 8)!);
    stats.end(stats.start('write', 8, 8)!);
    stats.end(stats.start('read', 16, 8)!);
    expect(counters(stats, 0)).toMatchObject({ writes: 2, writeMerges: 1, reads: 1 });
    expect(stats.message(['@stats_print', '0'], 1024)!.split(' ')[2]).toBe('0');
  });

  it('histogram slots by duration, in ms, or in ns with precise_timestamps', () => {
    const clock = new ManualClock();
    const stats = new DmStats(clock);
    stats.message(['@stats_create', '-', '/1', '1', 'histogram:10,100'], 1024);
    stats.message(['@stats_create', '-', '/1', '2', 'precise_timestamps', 'histogram:1000000'], 1024);
    for (const ms of [0, 9, 10, 99, 100, 500]) {
      const io = stats.start('read', 0, 8)!;
      clock.advance(ms);
      stats.end(io);
    }
    expect(counters(stats, 0).histogram).toBe('2:2:2');
    // 1 ms = 1000000 ns: 0 below it; 9 ... 500 ms at or above.
    expect(counters(stats, 1)).toMatchObject({ readTicks: 718 * 1e6, histogram: '1:5' });
  });

  it('@stats_print_clear answers the counters, then starts them again; in-flight requests stay counted', () => {
    const clock = new ManualClock();
    const stats = new DmStats(clock);
    stats.message(['@stats_create', '-', '/1'], 1024);
    stats.end(stats.start('read', 0, 8)!);
    const pending = stats.start('write', 0, 8)!;
    expect(stats.message(['@stats_print_clear', '0'], 1024)).toBe('0+1024 1 0 8 0 0 0 0 0 1 0 0 0 0\n');
    expect(counters(stats, 0)).toMatchObject({ reads: 0, inFlight: 1 });
    clock.advance(3);
    stats.end(pending);
    expect(counters(stats, 0)).toMatchObject({ writes: 1, writeTicks: 3, inFlight: 0 });
  });

  it('a region made while a request is in flight does not count it; a deleted one is no longer counted in', () => {
    const stats = new DmStats(new ManualClock());
    stats.message(['@stats_create', '-', '/1'], 1024);
    const io = stats.start('read', 0, 8)!;
    stats.message(['@stats_create', '-', '/1'], 1024);
    stats.message(['@stats_delete', '0'], 1024);
    stats.end(io);
    expect(counters(stats, 1)).toMatchObject({ reads: 0, inFlight: 0 });
  });
});
