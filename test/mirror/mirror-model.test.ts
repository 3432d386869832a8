// Model-based property test: random writes, leg failures and repairs, reads and resyncs on a 3-leg mirror
// (core or disk log, no handle_errors, the default leg 0 kept healthy). The model is a plain buffer of
// what the writer wrote. Every read returns the model's bytes; after every resync (repair, suspend,
// resume, wait_for_sync) each leg, healthy and in sync, holds exactly the model.
// Failures of the default leg, handle_errors/keep_log and LVM-style repairs: mirror-repair-model.test.ts.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MirrorSet } from '../../targets/mirror/mirror.js';
import { quiesce, Rig, waitForSync } from './support/harness.js';

const LEN = 1024;
const REGION = 64;
const LEG_SECTORS = 1100;

type Op =
  | { kind: 'write'; sector: number; count: number; byte: number }
  | { kind: 'read'; sector: number; count: number }
  | { kind: 'fail'; leg: 1 | 2 }
  | { kind: 'heal'; leg: 1 | 2 }
  | { kind: 'resync' };

/** A request inside one region, as the dm core splits them. */
const extent = fc
  .record({
    region: fc.integer({ min: 0, max: LEN / REGION - 1 }),
    start: fc.integer({ min: 0, max: REGION - 1 }),
    count: fc.integer({ min: 1, max: 16 }),
  })
  .map(({ region, start, count }) => ({ sector: region * REGION + start, count: Math.min(count, REGION - start) }));

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(extent, fc.integer({ min: 1, max: 255 }))
      .map(([e, byte]) => ({ kind: 'write' as const, ...e, byte })),
  },
  { weight: 2, arbitrary: extent.map((e) => ({ kind: 'read' as const, ...e })) },
  { weight: 1, arbitrary: fc.constantFrom(1 as const, 2 as const).map((leg) => ({ kind: 'fail' as const, leg })) },
  { weight: 1, arbitrary: fc.constantFrom(1 as const, 2 as const).map((leg) => ({ kind: 'heal' as const, leg })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'resync' as const }) },
);

async function legBytes(rig: Rig, name: string): Promise<Buffer> {
  const buf = Buffer.alloc(LEN * 512);
  await rig.dev(name).inner.read(0, buf);
  return buf;
}

async function run(logKind: 'core' | 'disk', ops: Op[]): Promise<void> {
  const rig = new Rig();
  const legs = ['/dev/l0', '/dev/l1', '/dev/l2'];
  for (const l of legs) rig.add(l, LEG_SECTORS);
  rig.add('/dev/log', 8);
  const log = logKind === 'core' ? `core 1 ${REGION}` : `disk 2 /dev/log ${REGION}`;
  const m: MirrorSet = await rig.create('m', `${log} 3 ${legs.map((l) => `${l} 0`).join(' ')}`, LEN);
  const model = Buffer.alloc(LEN * 512);
  await waitForSync(m);

  const resync = async (): Promise<void> => {
    for (const l of legs) rig.dev(l).failWrites = rig.dev(l).failReads = false;
    await m.presuspend({ noflush: false });
    await m.postsuspend();
    await m.resume();
    await waitForSync(m);
    await quiesce(rig, m);
    expect(m.status('info')).toMatch(/ 16\/16 1 AAA /);
    for (const l of legs)
      expect((await legBytes(rig, l)).equals(model), `${l} equals the model after resync`).toBe(true);
  };

  for (const o of ops) {
    if (o.kind === 'write') {
      const data = Buffer.alloc(o.count * 512, o.byte);
      await m.map({ op: 'write', sector: o.sector, count: o.count, buf: data }); // never fails: leg 0 is healthy
      data.copy(model, o.sector * 512);
    } else if (o.kind === 'read') {
      const buf = Buffer.alloc(o.count * 512);
      await m.map({ op: 'read', sector: o.sector, count: o.count, buf });
      expect(buf.equals(model.subarray(o.sector * 512, (o.sector + o.count) * 512))).toBe(true);
    } else if (o.kind === 'fail') {
      rig.dev(legs[o.leg]!).failWrites = rig.dev(legs[o.leg]!).failReads = true;
    } else if (o.kind === 'heal') {
      rig.dev(legs[o.leg]!).failWrites = rig.dev(legs[o.leg]!).failReads = false;
    } else {
      await resync();
    }
  }
  await resync();
  await m.destroy();
}

describe('mirror against a model', () => {
  for (const logKind of ['core', 'disk'] as const) {
    it(`${logKind} log: reads match the model and every leg equals it after each resync`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), (ops) => run(logKind, ops)),
        { numRuns: 40 },
      );
    });
  }
});
