// Region states and their ordering rules (dm-region-hash.c + dm-raid1.c), observed on the devices:
// a region is marked dirty and the log flushed before any data write; it is marked clean only after the
// legs were flushed; recovery takes one region at a time, ascending; writes to a recovering region wait
// for its copy; out-of-sync writes go to the default leg only.

import { describe, expect, it } from 'vitest';
import { runUntilIdle } from '../../src/kcopyd/engine.js';
import { ManualScheduler } from '../../src/kcopyd/scheduler.js';
import { CoreLog } from '../../targets/mirror/core-log.js';
import { RegionHash, RH_CLEAN, RH_DIRTY, RH_NOSYNC, RH_RECOVERING } from '../../targets/mirror/region-hash.js';
import { quiesce, Rig, settle, waitForSync } from './support/harness.js';

const LEN = 1024;
const REGION = 64;

function rigWithLegs(scheduler?: ManualScheduler): Rig {
  const rig = new Rig(scheduler ? { scheduler } : {});
  rig.add('/dev/l0', 1100);
  rig.add('/dev/l1', 1100);
  rig.add('/dev/log', 8);
  return rig;
}

describe('region hash ordering', () => {
  it('marks the region dirty and flushes the log before the data write; cleans it only after flushing the legs', async () => {
    const rig = rigWithLegs();
    const m = await rig.create('m', `disk 2 /dev/log ${REGION} 2 /dev/l0 0 /dev/l1 0`, LEN);
    await waitForSync(m);
    await quiesce(rig, m);
    rig.journal.length = 0;
    await m.map({ op: 'write', sector: 5 * REGION + 3, count: 2, buf: Buffer.alloc(1024, 7) });
    await quiesce(rig, m);
    const j = rig.journal.map(([dev, op, sector]) => `${dev} ${op}${op === 'flush' ? '' : ` ${sector}`}`);
    const firstData = j.findIndex((e) => /^\/dev\/l[01] write/.test(e));
    // Before any data: the log buffer (dirty bit for region 5) is written, then the log device flushed.
    expect(j.slice(0, firstData)).toEqual(['/dev/log write 0', '/dev/log flush']);
    expect(j.slice(firstData, firstData + 2).sort()).toEqual([
      `/dev/l0 write ${5 * REGION + 3}`,
      `/dev/l1 write ${5 * REGION + 3}`,
    ]);
    // Then, going clean: both legs flushed before the log write that sets the clean bit.
    expect(j.slice(firstData + 2)).toEqual(['/dev/l0 flush', '/dev/l1 flush', '/dev/log write 0']);
    expect(m.log.isClean(5)).toBe(true);
  });

  it('recovers one region at a time, ascending, from the default mirror', async () => {
    const rig = rigWithLegs();
    const order: string[] = [];
    rig.bus.on((e) => {
      if (e.type === 'mirror.recovery') order.push(`${e.phase} ${e.region} from ${e.source}`);
    });
    const m = await rig.create('m', `core 1 ${REGION} 2 /dev/l0 0 /dev/l1 0`, LEN);
    await waitForSync(m);
    expect(order).toEqual(Array.from({ length: 16 }, (_, r) => [`start ${r} from 0`, `end ${r} from 0`]).flat());
  });

  it('a write to a recovering region waits for the copy, then goes to every leg', async () => {
    const scheduler = new ManualScheduler();
    const rig = rigWithLegs(scheduler);
    await rig.dev('/dev/l0').write(0, Buffer.alloc(REGION * 512, 0x11));
    const m = await rig.create('m', `core 1 ${REGION} 2 /dev/l0 0 /dev/l1 0`, LEN);
    await settle();
    expect(m.rh.getState(0)).toBe(RH_RECOVERING); // copy queued in kcopyd, not yet run
    let done = false;
    const w = m.map({ op: 'write', sector: 5, count: 1, buf: Buffer.alloc(512, 0x22) }).then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    while (!done) {
      await runUntilIdle(rig.engine);
      await settle(2);
    }
    await w;
    const l1 = Buffer.alloc(REGION * 512);
    await rig.dev('/dev/l1').inner.read(0, l1);
    expect(l1.subarray(5 * 512, 6 * 512)).toEqual(Buffer.alloc(512, 0x22)); // not overwritten by the copy
    expect(l1.subarray(0, 512)).toEqual(Buffer.alloc(512, 0x11)); // the copy itself
    const copyAt = rig.journal.findIndex(
      ([d, op, s, n]) => d === '/dev/l1' && op === 'write' && s === 0 && n === REGION,
    );
    const writeAt = rig.journal.findIndex(([d, op, s]) => d === '/dev/l1' && op === 'write' && s === 5);
    expect(copyAt).toBeGreaterThanOrEqual(0);
    expect(writeAt).toBeGreaterThan(copyAt);
    while (m.status('info').split(' ')[3] !== '16/16') {
      await runUntilIdle(rig.engine);
      await settle(2);
    }
  });

  it('an out-of-sync region is written on the default leg only', async () => {
    const rig = rigWithLegs();
    const m = await rig.create('m', `core 1 ${REGION} 2 /dev/l0 0 /dev/l1 0`, LEN);
    await waitForSync(m);
    rig.dev('/dev/l1').failWrites = true;
    await m.map({ op: 'write', sector: 2 * REGION, count: 1, buf: Buffer.alloc(512, 1) });
    await quiesce(rig, m);
    expect(m.rh.getState(2)).toBe(RH_NOSYNC);
    rig.dev('/dev/l1').failWrites = false;
    rig.journal.length = 0;
    await m.map({ op: 'write', sector: 2 * REGION + 9, count: 1, buf: Buffer.alloc(512, 2) });
    expect(rig.journal.filter(([, op]) => op === 'write').map(([d]) => d)).toEqual(['/dev/l0']);
  });

  it('follows CLEAN -> DIRTY -> CLEAN for a write and reads unknown regions from the log', async () => {
    const owner = { targetLen: 256, flushLegs: async () => true, raiseEvent: () => {} };
    const log = new CoreLog(owner, { regionSize: 64, sync: 'nosync' });
    const wakes: number[] = [];
    const rh = new RegionHash<string>(log, 1, { dispatchBios: () => {}, wakeup: () => wakes.push(1) });
    expect(rh.getState(1)).toBe(RH_CLEAN);
    rh.inc(1);
    expect(rh.getState(1)).toBe(RH_DIRTY);
    expect(log.isClean(1)).toBe(false);
    rh.dec(1);
    expect(rh.getState(1)).toBe(RH_CLEAN);
    expect(log.isClean(1)).toBe(false); // cleared only by the next update pass
    await rh.updateStates(false);
    expect(log.isClean(1)).toBe(true);
    expect(rh.entryCount).toBe(0);
    rh.markNosync(2, 'write');
    expect(rh.getState(2)).toBe(RH_NOSYNC);
    expect(log.getSyncCount()).toBe(3);
    expect(wakes.length).toBe(1);
  });
});
