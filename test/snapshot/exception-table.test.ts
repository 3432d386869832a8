// ExceptionTable against a Map (the model): random sets, deletes and lookups, with origin chunks in a small range
// (so deletes hit entries and the backward shift runs over long probe runs), across growth, and with chunk
// numbers past 32 bits, which take the wide path.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExceptionTable } from '../../targets/snapshot/exception-table.js';

const chunk = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(0xfffffffe, 0xffffffff, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1) },
);
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), old: chunk, new: chunk }),
  fc.record({ kind: fc.constant('delete' as const), old: chunk }),
  fc.record({ kind: fc.constant('clear' as const) }),
  fc.record({ kind: fc.constant('reserve' as const), n: fc.integer({ min: 0, max: 5000 }) }),
);

describe('ExceptionTable', () => {
  it('answers as a Map of origin chunk -> COW chunk does', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const table = new ExceptionTable();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            table.set(o.old, o.new);
            model.set(o.old, o.new);
          } else if (o.kind === 'delete') {
            expect(table.delete(o.old)).toBe(model.delete(o.old));
          } else if (o.kind === 'clear') {
            table.clear();
            model.clear();
          } else table.reserve(o.n);
          if (table.size !== model.size) expect.fail(`size ${table.size}, the model has ${model.size}`);
        }
        for (let c = 0; c <= 300; c++) if (table.get(c) !== model.get(c)) expect(table.get(c)).toBe(model.get(c));
        for (const [k, v] of model) {
          expect(table.get(k)).toBe(v);
          expect(table.has(k)).toBe(true);
        }
        const entries = [...table].sort((a, b) => a[0] - b[0]);
        expect(entries).toEqual([...model].sort((a, b) => a[0] - b[0]));
      }),
      { numRuns: 150 },
    );
  });

  it('holds a million exceptions loaded in shuffled order, then loses half of them to a merge', () => {
    const n = 1_000_000;
    const table = new ExceptionTable();
    table.reserve(n);
    // Origin chunk i lives at COW chunk 3 * i + 7 (an independent rule to check against).
    for (let i = 0, c = 0; i < n; i++, c = (c + 611953) % n) table.set(c, 3 * c + 7);
    expect(table.size).toBe(n);
    let deleted = 0;
    for (let c = 0; c < n; c += 2) if (table.delete(c)) deleted++;
    expect(deleted).toBe(n / 2);
    expect(table.size).toBe(n / 2);
    for (let c = 0; c < n; c++) {
      if (table.get(c) !== (c % 2 ? 3 * c + 7 : undefined)) expect.fail(`chunk ${c}: ${table.get(c)}`);
    }
  });
});
