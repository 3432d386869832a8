// The bounded event log never loses count, and throughput buckets turn bytes into per-second rates.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appendLog, loggedCount } from '../../tui/store/event-log.js';
import { reduceAll } from '../../tui/store/reduce.js';
import { addBytes, advance, currentRate } from '../../tui/store/throughput.js';
import { initialState } from '../../tui/store/view-state.js';

describe('event log', () => {
  it('for any burst and capacity: newest first, at most capacity entries, every event counted', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 200 }),
        (capacity, texts) => {
          let log = initialState(0, { logCapacity: capacity }).log;
          texts.forEach((text, i) => {
            log = appendLog(log, { seq: i + 1, time: i, level: text === 'c' ? 'error' : 'info', device: 'd', text });
          });
          expect(log.entries.length).toBeLessThanOrEqual(capacity);
          expect(loggedCount(log)).toBe(texts.length);
          expect(log.errors).toBe(texts.filter((t) => t === 'c').length);
          if (texts.length > 0) expect(log.entries[0]!.text).toBe(texts[texts.length - 1]);
          // The newest error stays known even when it was pushed out of the list.
          const lastC = texts.lastIndexOf('c');
          expect(log.lastError?.seq).toBe(lastC >= 0 ? lastC + 1 : undefined);
          // Runs of the same text fold into one entry: no two neighbours are the same.
          for (let i = 1; i < log.entries.length; i++) expect(log.entries[i]!.text).not.toBe(log.entries[i - 1]!.text);
        },
      ),
    );
  });
});

describe('I/O error runs', () => {
  const err = (seq: number, sector: number, op = 'read') =>
    ({
      type: 'io.error',
      seq,
      time: seq,
      device: 'leg0',
      op,
      sector,
      count: 8,
      code: 'EIO',
      message: 'error target',
    }) as never;

  it('errors on consecutive sectors of one device fold into one line with the whole range', () => {
    const s = reduceAll(initialState(0), [err(1, 100), err(2, 108), err(3, 116)]);
    expect(s.log.entries).toHaveLength(1);
    expect(s.log.entries[0]).toMatchObject({
      device: 'leg0',
      repeat: 3,
      text: 'read error at sector 100+24: error target',
    });
    expect(s.log.errors).toBe(3);
  });

  it('a gap, another op or another device starts a new line', () => {
    const s = reduceAll(initialState(0), [err(1, 100), err(2, 200), err(3, 208, 'write')]);
    expect(s.log.entries.map((e) => e.text)).toEqual([
      'write error at sector 208+8: error target',
      'read error at sector 200+8: error target',
      'read error at sector 100+8: error target',
    ]);
  });
});

describe('throughput', () => {
  it('closes one-second buckets into bytes per second, with zeros for idle seconds', () => {
    let t = initialState(0).throughput;
    t = addBytes(t, 'copy', 1_000_000, 100);
    t = addBytes(t, 'copy', 1_000_000, 900);
    expect(currentRate(t, 'copy')).toBe(0); // the first second is still open
    t = addBytes(t, 'write', 512, 1500);
    expect(t.history.copy).toEqual([2_000_000]);
    t = advance(t, 4200);
    expect(t.history.copy).toEqual([2_000_000, 0, 0, 0]);
    expect(t.history.write).toEqual([0, 512, 0, 0]);
    expect(t.totals).toEqual({ read: 0, write: 512, copy: 2_000_000 });
  });

  it('a 250 ms bucket reports four times its bytes per second, and history is bounded', () => {
    let t = initialState(0, { bucketMs: 250 }).throughput;
    t = addBytes(t, 'read', 1000, 10);
    t = advance(t, 250);
    expect(currentRate(t, 'read')).toBe(4000);
    t = advance(t, 250 * 1000);
    expect(t.history.read.length).toBe(t.historyLength);
  });

  it('a TUI tick with no engine events lets the rate fall back to zero', () => {
    const s = reduceAll(initialState(0), [
      { type: 'dm.io', seq: 1, time: 100, device: 'lin', op: 'write', sector: 0, count: 2048 },
      { type: 'tui.tick', seq: 1, time: 1000 },
    ] as never[]);
    expect(currentRate(s.throughput, 'write')).toBe(1024 * 1024);
    const later = reduceAll(s, [{ type: 'tui.tick', seq: 1, time: 3500 } as never]);
    expect(currentRate(later.throughput, 'write')).toBe(0);
    expect(later.throughput.totals.write).toBe(1024 * 1024);
  });
});
