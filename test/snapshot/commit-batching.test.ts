// dm-snap-persistent's commit batching (persistent_commit_exception): a commit writes the metadata area (one
// REQ_PREFLUSH | REQ_FUA write) only when no other prepared exception is still in flight (pending_count drops
// to 0) or the area is full; every exception completed before that rides on the same write. So origin writes
// to N fresh chunks issued together cost one area write, not N, and two waves one after the other cost two.
// The area write runs synchronously on the kcopyd worker that delivers the copy callbacks (chunk_io waits for
// it), so copies that finish while it is in flight are committed after it returns, all in one go: they share
// one area write even when pending_count had dropped to 0 between them.

import { describe, expect, it } from 'vitest';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { ManualScheduler } from '../../src/kcopyd/scheduler.js';
import { Lab } from './support/dm.js';

const CHUNK = 8;
/** Chunk 0 is the header, chunk 1 the first metadata area. */
const AREA_SECTOR = CHUNK;

/** A COW that counts its flushes and the writes to the first metadata area, and can hold area writes. */
class CountingCow extends MemoryDevice {
  flushes = 0;
  areaWrites = 0;
  /** While set, an area write waits for it. */
  gate: Promise<void> | null = null;
  override async write(sector: number, buf: Buffer): Promise<void> {
    if (sector === AREA_SECTOR) {
      this.areaWrites++;
      if (this.gate) await this.gate;
    }
    await super.write(sector, buf);
  }
  override async flush(): Promise<void> {
    this.flushes++;
    await super.flush();
  }
}

async function rig(): Promise<{ lab: Lab; cow: CountingCow; scheduler: ManualScheduler }> {
  const scheduler = new ManualScheduler();
  const lab = new Lab({ scheduler });
  await lab.disk('real', 1024);
  const cow = new CountingCow('cow', 2048);
  lab.dm.addBackingDevice('cow', cow);
  await lab.dm.create('origin', '0 1024 linear real 0');
  await lab.snapshot('origin', 'real', 'snap', 'cow', 'P', CHUNK);
  cow.flushes = 0;
  cow.areaWrites = 0;
  return { lab, cow, scheduler };
}

const count = (lab: Lab, type: string): number => lab.events.filter((e) => e.type === type).length;

/** Runs kcopyd passes (and lets I/O complete) until `until` holds. */
async function runUntil(scheduler: ManualScheduler, until: () => boolean): Promise<void> {
  while (!until()) {
    while (scheduler.step()) {}
    await new Promise((r) => setImmediate(r));
  }
}

/** Starts origin writes to `chunks`, all in flight together; returns once every exception is prepared. */
async function startWave(lab: Lab, scheduler: ManualScheduler, chunks: number[]): Promise<{ done: Promise<void> }> {
  const writes = chunks.map((c) => lab.write('origin', c * CHUNK, Buffer.alloc(CHUNK * 512, c + 1)));
  const before = count(lab, 'snapshot.exception.allocated');
  await runUntil(scheduler, () => count(lab, 'snapshot.exception.allocated') >= before + chunks.length);
  return { done: Promise.all(writes).then(() => undefined) };
}

async function wave(lab: Lab, scheduler: ManualScheduler, chunks: number[]): Promise<void> {
  let finished = false;
  const all = (await startWave(lab, scheduler, chunks)).done.then(() => {
    finished = true;
  });
  await runUntil(scheduler, () => finished);
  await all;
}

describe('snapshot: persistent commits are batched as dm-snap-persistent batches them', () => {
  it('16 exceptions prepared together are committed by one area write (preflush + FUA: two flushes)', async () => {
    const { lab, cow, scheduler } = await rig();
    await wave(
      lab,
      scheduler,
      Array.from({ length: 16 }, (_, i) => i * 3),
    );
    const committed = lab.events.filter((e) => e.type === 'snapshot.exception.committed');
    expect(committed).toHaveLength(16);
    expect([cow.areaWrites, cow.flushes]).toEqual([1, 2]);
  });

  it('two waves, the second issued after the first completed, cost two area writes', async () => {
    const { lab, cow, scheduler } = await rig();
    await wave(lab, scheduler, [0, 1, 2, 3]);
    await wave(lab, scheduler, [10, 11, 12, 13]);
    expect([cow.areaWrites, cow.flushes]).toEqual([2, 4]);
  });

  it('copies that finish while the area write is in flight share the next one, even between pending_count zeros', async () => {
    const { lab, cow, scheduler } = await rig();
    let release!: () => void;
    cow.gate = new Promise((r) => (release = r));
    // Wave 1's area write is held. Waves 2 and 3 copy meanwhile, one after the other: after wave 2's copies
    // nothing is pending (a commit then would write the area), and wave 3 comes after that.
    const first = await startWave(lab, scheduler, [0, 1]);
    await runUntil(scheduler, () => cow.areaWrites === 1);
    const copied = (): number => count(lab, 'snapshot.copy.finished');
    const second = await startWave(lab, scheduler, [5, 6]);
    await runUntil(scheduler, () => copied() === 4);
    const third = await startWave(lab, scheduler, [9]);
    await runUntil(scheduler, () => copied() === 5);
    expect([cow.areaWrites, count(lab, 'snapshot.exception.committed')]).toEqual([1, 0]);
    cow.gate = null;
    release();
    let finished = false;
    const all = Promise.all([first.done, second.done, third.done]).then(() => {
      finished = true;
    });
    await runUntil(scheduler, () => finished);
    await all;
    // Wave 1's write, then one for waves 2 and 3 together (each commit on its own would have made it three).
    expect([cow.areaWrites, cow.flushes]).toEqual([2, 4]);
    expect(count(lab, 'snapshot.exception.committed')).toBe(5);
  });
});
