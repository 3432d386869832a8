// LineReader: the same lines however the bytes are chunked, and a hard stop past the limit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineReader } from '../../src/control/line-reader.js';

function feed(chunks: Buffer[], max: number): { lines: string[]; overflowed: boolean } {
  const lines: string[] = [];
  let overflowed = false;
  const r = new LineReader(
    max,
    (l) => lines.push(l),
    () => (overflowed = true),
  );
  for (const c of chunks) r.push(c);
  return { lines, overflowed };
}

describe('LineReader', () => {
  it('yields the newline-terminated lines whatever the chunking (multi-byte UTF-8 split across chunks too)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme' }).map((s) => s.replace(/\n/g, ''))),
        fc.array(fc.nat(), { maxLength: 20 }),
        (lines, cuts) => {
          const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of [...points, bytes.length]) {
            chunks.push(bytes.subarray(prev, p));
            prev = p;
          }
          expect(feed(chunks, 1 << 20)).toEqual({ lines, overflowed: false });
        },
      ),
    );
  });

  it('keeps an unterminated tail until its newline arrives', () => {
    expect(feed([Buffer.from('abc')], 10)).toEqual({ lines: [], overflowed: false });
    expect(feed([Buffer.from('abc'), Buffer.from('def\n')], 10)).toEqual({ lines: ['abcdef'], overflowed: false });
  });

  it('accepts a line of exactly the limit and overflows one byte past it, then ignores everything', () => {
    expect(feed([Buffer.from(`${'x'.repeat(10)}\n`)], 10)).toEqual({ lines: ['x'.repeat(10)], overflowed: false });
    expect(feed([Buffer.from('x'.repeat(6)), Buffer.from('x'.repeat(5)), Buffer.from('\nok\n')], 10)).toEqual({
      lines: [],
      overflowed: true,
    });
    expect(feed([Buffer.from(`ok\n${'y'.repeat(11)}\nlater\n`)], 10)).toEqual({ lines: ['ok'], overflowed: true });
  });
});
