// Model-based property test: random batches of origin and snapshot writes, run concurrently, over several
// snapshots with random chunk sizes and stores; snapshots are added between batches and persistent ones are
// re-activated from their COW. The model: each snapshot reads the origin as of its creation plus its own
// writes, and the origin reads its own writes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { originTargetType } from '../../targets/snapshot/origin.js';
import { snapshotTargetType } from '../../targets/snapshot/snapshot.js';
import { type Mapped, Rig, read, write } from './support/rig.js';

const ORIGIN = 96; // sectors: not a multiple of the larger chunk sizes, so the last chunk is partial

/** A sector's content is its tag repeated; the model keeps one tag per sector. */
function sectorData(tags: number[]): Buffer {
  const b = Buffer.alloc(tags.length * 512);
  tags.forEach((t, i) => {
    for (let o = 0; o < 512; o += 4) b.writeUInt32LE(t, i * 512 + o);
  });
  return b;
}

function tagsOf(b: Buffer): number[] {
  return Array.from({ length: b.length / 512 }, (_, i) => b.readUInt32LE(i * 512));
}

interface SnapSpec {
  chunk: number;
  store: 'P' | 'N';
}

type Op = { dev: number; sector: number; count: number };

const snapSpec = fc.record({ chunk: fc.constantFrom(1, 2, 4, 8, 16, 32), store: fc.constantFrom<'P' | 'N'>('P', 'N') });
const op = fc
  .record({ dev: fc.nat(4), sector: fc.nat(ORIGIN - 1), count: fc.integer({ min: 1, max: 24 }) })
  .map((o) => ({ ...o, count: Math.min(o.count, ORIGIN - o.sector) }));
/** A batch runs concurrently; ops on one device with overlapping ranges are dropped (their order is undefined). */
const batch = fc
  .array(op, { minLength: 1, maxLength: 6 })
  .map((ops) =>
    ops.filter(
      (o, i) =>
        !ops.slice(0, i).some((p) => p.dev === o.dev && p.sector < o.sector + o.count && o.sector < p.sector + p.count),
    ),
  );
const step = fc.oneof(
  { weight: 5, arbitrary: batch.map((ops) => ({ kind: 'batch' as const, ops })) },
  { weight: 1, arbitrary: snapSpec.map((spec) => ({ kind: 'snapshot' as const, spec })) },
  { weight: 1, arbitrary: fc.nat(3).map((which) => ({ kind: 'reactivate' as const, which })) },
);

/** COW sectors a persistent store needs for every chunk of the origin (LVM's _cow_max_size, plus a chunk). */
function cowSectors(s: SnapSpec): number {
  const n = Math.ceil(ORIGIN / s.chunk);
  const e = s.chunk * 32;
  return s.store === 'N' ? n * s.chunk : (2 + n + Math.floor((n + e) / e)) * s.chunk;
}

describe('snapshot model', () => {
  it('every snapshot reads the origin as of its creation plus its own writes; the origin reads its writes', async () => {
    await fc.assert(
      fc.asyncProperty(snapSpec, fc.array(step, { minLength: 1, maxLength: 12 }), async (first, steps) => {
        const rig = new Rig();
        const initial = Array.from({ length: ORIGIN }, (_, s) => 1_000_000 + s);
        await rig.memory('origin-dev', ORIGIN, sectorData(initial));
        const origin = await rig.create(originTargetType, 'origin', ORIGIN, ['origin-dev']);
        await origin.target.resume?.();
        const originModel = [...initial];
        const snaps: { m: Mapped; model: number[]; spec: SnapSpec; cow: string }[] = [];
        let tag = 1;

        const addSnapshot = async (spec: SnapSpec) => {
          const cow = `cow${snaps.length}`;
          await rig.memory(cow, cowSectors(spec));
          const m = await rig.create(snapshotTargetType, `snap${snaps.length}`, ORIGIN, [
            'origin-dev',
            cow,
            spec.store,
            String(spec.chunk),
          ]);
          await m.target.resume?.();
          await origin.target.resume?.(); // the origin's split size follows its snapshots
          snaps.push({ m, model: [...originModel], spec, cow });
        };
        await addSnapshot(first);

        for (const s of steps) {
          if (s.kind === 'snapshot') {
            if (snaps.length < 4) await addSnapshot(s.spec);
          } else if (s.kind === 'reactivate') {
            const snap = snaps[s.which % snaps.length]!;
            if (snap.spec.store !== 'P') continue;
            await snap.m.target.destroy();
            snap.m = await rig.create(snapshotTargetType, snap.m.name, ORIGIN, [
              'origin-dev',
              snap.cow,
              'P',
              String(snap.spec.chunk),
            ]);
            await snap.m.target.resume?.();
          } else {
            await Promise.all(
              s.ops.map((o: Op) => {
                const tags = Array.from({ length: o.count }, () => tag++);
                const target =
                  o.dev === 0 || o.dev > snaps.length ? { m: origin, model: originModel } : snaps[o.dev - 1]!;
                for (const [i, t] of tags.entries()) target.model[o.sector + i] = t;
                return write(target.m, o.sector, sectorData(tags));
              }),
            );
          }
          expect(tagsOf(await read(origin, 0, ORIGIN))).toEqual(originModel);
          for (const snap of snaps) {
            expect(tagsOf(await read(snap.m, 0, ORIGIN)), snap.m.name).toEqual(snap.model);
            expect(snap.m.target.status('info')).toMatch(/^\d+\/\d+ \d+$/);
          }
        }
        for (const snap of snaps) await snap.m.target.destroy();
      }),
      { numRuns: 60 },
    );
  });
});
