// The crash tests' reference model on its own: what it accepts after a crash and what it must reject, so a
// crash test that passes says something (expectations written out here by hand).

import { describe, expect, it } from 'vitest';
import { SectorModel, sectorData, tagOf, writeData } from './support/sector-model.js';

describe('SectorModel', () => {
  it('reads a sector back as the write that made it, and refuses torn or misplaced data', () => {
    expect(tagOf(5, sectorData(5, 42))).toBe(42);
    expect(tagOf(6, sectorData(5, 42))).toBeNull(); // the right data in the wrong place
    const torn = Buffer.concat([sectorData(5, 42).subarray(0, 256), sectorData(5, 43).subarray(256)]);
    expect(tagOf(5, torn)).toBeNull();
    expect(tagOf(5, Buffer.alloc(512))).toBeNull();
  });

  it('after a crash allows the flushed value or any write since, per sector, and nothing else', () => {
    const m = new SectorModel('d', 4, () => 0);
    m.issued(0, 2, 1);
    m.durable(
      new Map([
        [0, 1],
        [1, 1],
      ]),
    ); // write 1 flushed
    m.issued(1, 2, 2); // write 2 acknowledged or in flight, not flushed
    expect([0, 1, 2, 3].map((s) => m.allowed(s))).toEqual([[1], [1, 2], [0, 2], [0]]);
    const lost = Buffer.concat([sectorData(0, 0), sectorData(1, 2), sectorData(2, 0), sectorData(3, 0)]);
    expect(m.settle(lost)).toEqual(['d sector 0: read write 0, expected one of 1']);
  });

  it('settles to what was read, which a snapshot copy then starts from', () => {
    const m = new SectorModel('d', 2, () => 0);
    m.issued(0, 2, 7);
    expect(m.settle(writeData(0, 2, 7))).toEqual([]);
    expect(
      m
        .copy('s')
        .image()
        .equals(writeData(0, 2, 7)),
    ).toBe(true);
  });
});
