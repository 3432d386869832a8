// Property tests: random copies and zeros against the byte-array reference model (reference-model.ts), with
// read and write faults at random sectors, random sizes, sub-job sizes, page limits and destination counts.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DmEvent } from '../../src/base/events.js';
import { EventBus } from '../../src/base/events.js';
import { KcopydEngine, runUntilIdle } from '../../src/kcopyd/engine.js';
import { AutoScheduler, ManualScheduler } from '../../src/kcopyd/scheduler.js';
import type { IoRegion, KcopydResult } from '../../src/kcopyd/types.js';
import { FaultyDevice } from './fault-devices.js';
import { type ModelDevice, modelOutcomes, SECTOR } from './reference-model.js';

/** Deterministic non-zero-ish bytes so zero-fill and untouched regions are told apart. */
function pattern(seed: number, sectors: number): Buffer {
  const buf = Buffer.alloc(sectors * SECTOR);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < buf.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeUInt32LE(x >>> 0, i);
  }
  return buf;
}

const scenario = fc
  .record({
    zero: fc.boolean(),
    count: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 400 })),
    subJobSectors: fc.oneof(fc.constantFrom(8, 16, 24, 64, 128), fc.integer({ min: 8, max: 200 })),
    nDests: fc.integer({ min: 1, max: 8 }),
    srcOffset: fc.integer({ min: 0, max: 20 }),
    destOffsets: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 8, maxLength: 8 }),
    ignoreError: fc.boolean(),
    reservePages: fc.integer({ min: 0, max: 30 }),
    sharedPoolPages: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    badReads: fc.array(fc.integer({ min: 0, max: 420 }), { maxLength: 3 }),
    badWrites: fc.array(fc.record({ dest: fc.integer({ min: 0, max: 7 }), sector: fc.integer({ min: 0, max: 420 }) }), {
      maxLength: 3,
    }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    manual: fc.boolean(),
  })
  .filter((s) => s.reservePages + (s.sharedPoolPages ?? Infinity) >= Math.ceil(Math.min(s.count, s.subJobSectors) / 8));

describe('kcopyd against the reference model', () => {
  it('final bytes and error bits are one of the outcomes the model allows', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const size = s.count + 24;
        const src = new FaultyDevice('src', size);
        await src.mem.write(0, pattern(s.seed, size));
        for (const b of s.badReads) if (b < size) src.badReads.add(b);
        const dests = Array.from({ length: s.nDests }, (_, j) => new FaultyDevice(`d${j}`, size));
        for (const [j, d] of dests.entries()) await d.mem.write(0, pattern(s.seed + j + 1, size));
        for (const w of s.badWrites) if (w.dest < s.nDests && w.sector < size) dests[w.dest]!.badWrites.add(w.sector);

        const snapshot = async (d: FaultyDevice): Promise<ModelDevice> => ({
          bytes: await d.bytes(),
          badReads: d.badReads,
          badWrites: d.badWrites,
        });
        const outcomes = modelOutcomes({
          source: s.zero ? null : { dev: await snapshot(src), sector: s.srcOffset },
          dests: await Promise.all(dests.map(async (d, j) => ({ dev: await snapshot(d), sector: s.destOffsets[j]! }))),
          count: s.count,
          ignoreError: s.ignoreError,
          subJobSectors: s.subJobSectors,
        });

        const bus = new EventBus();
        const events: DmEvent[] = [];
        bus.on((e) => events.push(e));
        const scheduler = s.manual ? new ManualScheduler() : new AutoScheduler();
        const engine = new KcopydEngine({
          bus,
          scheduler,
          subJobSectors: s.subJobSectors,
          sharedPoolPages: s.sharedPoolPages,
        });
        const client = engine.createClient({ owner: 'prop', reservePages: s.reservePages });
        const destRegions: IoRegion[] = dests.map((d, j) => ({ bdev: d, sector: s.destOffsets[j]!, count: s.count }));
        const flags = { ignoreError: s.ignoreError };
        const done = s.zero
          ? client.zeroAsync(destRegions, flags)
          : client.copyAsync({ bdev: src, sector: s.srcOffset, count: s.count }, destRegions, flags);
        if (s.manual) await runUntilIdle(engine);
        const result: KcopydResult = await done;
        await client.destroy();

        const finals = await Promise.all(dests.map((d) => d.bytes()));
        const match = outcomes.find(
          (o) =>
            o.readErr === result.readErr &&
            o.writeErr === result.writeErr &&
            o.dests.every((b, j) => b.equals(finals[j]!)),
        );
        expect(
          match,
          `no model outcome matches: got read_err=${result.readErr} write_err=${result.writeErr}; model allows ${outcomes.map((o) => `[${o.handedOut} chunks: ${o.readErr}/${o.writeErr}]`).join(' ')}`,
        ).toBeDefined();

        // Kernel rule: after a failed chunk completes (without IGNORE_ERROR), no new chunk is handed out.
        if (!s.ignoreError) {
          const jobEvents = events.filter(
            (e): e is Extract<DmEvent, { type: 'kcopyd.job' }> => e.type === 'kcopyd.job',
          );
          const firstFailedDone = jobEvents.findIndex(
            (e) => e.slot !== null && e.phase === 'complete' && (e.readErr || e.writeErr !== 0),
          );
          if (firstFailedDone >= 0) {
            const lateStarts = jobEvents
              .slice(firstFailedDone)
              .filter((e) => e.slot !== null && e.phase === 'queued' && e.list === 'pages_jobs');
            const lateZeros = jobEvents
              .slice(firstFailedDone)
              .filter((e) => e.slot !== null && e.kind === 'zero' && e.phase === 'queued' && e.list === 'io_jobs');
            expect(lateStarts.length + lateZeros.length).toBe(0);
          }
        }
      }),
      { numRuns: 250 },
    );
  });

  it('several jobs from several clients over one small shared pool all finish with the model bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          jobs: fc.array(
            fc.record({
              count: fc.integer({ min: 0, max: 120 }),
              client: fc.integer({ min: 0, max: 2 }),
              zero: fc.boolean(),
            }),
            {
              minLength: 1,
              maxLength: 6,
            },
          ),
          subJobSectors: fc.constantFrom(8, 16, 32),
          sharedPoolPages: fc.integer({ min: 0, max: 6 }),
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        }),
        async (s) => {
          const scheduler = new ManualScheduler();
          const engine = new KcopydEngine({
            bus: new EventBus(),
            scheduler,
            subJobSectors: s.subJobSectors,
            sharedPoolPages: s.sharedPoolPages,
          });
          const clients = [0, 1, 2].map((i) =>
            engine.createClient({ owner: `c${i}`, reservePages: s.subJobSectors / 8 }),
          );
          const total = s.jobs.reduce((n, j) => n + j.count, 0) + 8;
          const src = new FaultyDevice('src', total);
          const dst = new FaultyDevice('dst', total);
          await src.mem.write(0, pattern(s.seed, total));
          await dst.mem.write(0, pattern(s.seed + 1, total));
          const expected = await dst.bytes();
          const srcBytes = await src.bytes();
          const results: Promise<KcopydResult>[] = [];
          let at = 0;
          for (const j of s.jobs) {
            const c = clients[j.client]!;
            const dest = [{ bdev: dst, sector: at, count: j.count }];
            if (j.zero) {
              expected.fill(0, at * SECTOR, (at + j.count) * SECTOR);
              results.push(c.zeroAsync(dest));
            } else {
              srcBytes.copy(expected, at * SECTOR, at * SECTOR, (at + j.count) * SECTOR);
              results.push(c.copyAsync({ bdev: src, sector: at, count: j.count }, dest));
            }
            at += j.count;
          }
          await runUntilIdle(engine);
          for (const r of await Promise.all(results)) expect(r).toEqual({ readErr: false, writeErr: 0 });
          expect((await dst.bytes()).equals(expected)).toBe(true);
          await engine.destroy();
        },
      ),
      { numRuns: 100 },
    );
  });
});
