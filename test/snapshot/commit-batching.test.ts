// dm-snap-persistent's commit batching (persistent_commit_exception): a commit writes the metadata area (one
// REQ_PREFLUSH | REQ_FUA write) only when no other prepared exception is still in flight (pending_count drops
// to 0) or the area is full; every exception completed before that rides on the same write. So origin writes
// to N fresh chunks issued together cost one area write, not N, and two waves one after the other cost two.

import { describe, expect, it } from 'vitest';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { ManualScheduler } from '../../src/kcopyd/scheduler.js';
import { Lab } from './support/dm.js';

const CHUNK = 8;
/** Chunk 0 is the header, chunk 1 the first metadata area. */
const AREA_SECTOR = CHUNK;

/** A COW that counts its flushes and the writes to the first metadata area. */
class CountingCow extends MemoryDevice {
  flushes = 0;
  areaWrites = 0;
  override async write(sector: number, buf: Buffer): Promise<void> {
    if (sector === AREA_SECTOR) this.areaWrites++;
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

/** Origin writes to `chunks`, all in flight together; the copies run once every exception is prepared. */
async function wave(lab: Lab, scheduler: ManualScheduler, chunks: number[]): Promise<void> {
  const writes = chunks.map((c) => lab.write('origin', c * CHUNK, Buffer.alloc(CHUNK * 512, c + 1)));
  const allocated = (): number => lab.events.filter((e) => e.type === 'snapshot.exception.allocated').length;
  const before = allocated();
  while (allocated() < before + chunks.length) await new Promise((r) => setImmediate(r));
  let finished = false;
  const all = Promise.all(writes).then(() => {
    finished = true;
  });
  while (!finished) {
    while (scheduler.step()) {}
    await new Promise((r) => setImmediate(r));
  }
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
});
