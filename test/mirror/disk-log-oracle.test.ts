// The disk log's lifecycle replayed against what Linux 6.1 printed and wrote for the same operations
// (fixtures/mirror/disklog.out and disklog-reboot.out, made by fixtures/mirror/jobs/disklog*.sh):
// status and table lines, the dm event count, the log's bytes and both legs, checkpoint by checkpoint.

import { describe, expect, it } from 'vitest';
import type { MirrorSet } from '../../targets/mirror/mirror.js';
import { type Checkpoint, checkpoints } from './support/checkpoints.js';
import {
  logSummary,
  md5Of,
  patDevice,
  patMirror,
  quiesce,
  Rig,
  readMirror,
  settle,
  waitForSync,
} from './support/harness.js';

const LEGS = '2 /dev/mapper/leg0 0 /dev/mapper/leg1 0';
const MIR = `disk 2 /dev/mapper/mlog 128 ${LEGS}`;

async function observe(rig: Rig, m: MirrorSet | null): Promise<Checkpoint> {
  if (m) await quiesce(rig, m);
  else await settle();
  const cp: Checkpoint = {
    log: await logSummary(rig.dev('/dev/mapper/mlog')),
    md5: [await md5Of(rig.dev('/dev/mapper/leg0')), await md5Of(rig.dev('/dev/mapper/leg1'))],
  };
  if (m) {
    cp.status = m.status('info');
    cp.table = m.status('table');
    cp.events = rig.eventNr.get('mir');
  }
  return cp;
}

describe('disk log lifecycle, as Linux 6.1 wrote it', () => {
  it('matches every checkpoint of disklog.sh and disklog-reboot.sh', async () => {
    const kernel = new Map([...checkpoints('disklog.out'), ...checkpoints('disklog-reboot.out')]);
    const seen = new Map<string, Checkpoint>();
    const rig = new Rig();
    const leg0 = rig.add('/dev/mapper/leg0', 4096);
    const leg1 = rig.add('/dev/mapper/leg1', 4096);
    const log = rig.add('/dev/mapper/mlog', 128);
    await log.write(0, Buffer.alloc(4096, 0xaa)); // a blank log full of garbage
    for (let r = 0; r < 32; r++) await patDevice(leg0, 'init', r);

    let m = await rig.create('mir', MIR);
    await waitForSync(m);
    seen.set('A-synced-from-blank', await observe(rig, m));

    leg1.failWrites = true; // flakey error_writes
    await patMirror(m, 'w1', 3);
    await patMirror(m, 'w1', 7);
    await patMirror(m, 'w1', 31, 8);
    seen.set('B-leg1-write-failed', await observe(rig, m));
    await patMirror(m, 'w2', 3, 16);
    seen.set('C-nosync-region-write', await observe(rig, m));
    await m.destroy();
    seen.set('D-removed', await observe(rig, null));

    leg1.failWrites = false;
    m = await rig.create('mir', MIR);
    await waitForSync(m);
    seen.set('E-dirty-regions-resynced', await observe(rig, m));
    await m.destroy();
    seen.set('E2-removed', await observe(rig, null));

    await patDevice(leg0, 'raw', 5);
    m = await rig.create('mir', `disk 3 /dev/mapper/mlog 128 nosync ${LEGS}`);
    seen.set('F-nosync', await observe(rig, m));
    expect((await readMirror(m, 5 * 128)).toString('latin1', 0, 15)).toBe('raw-r5         ');
    await m.destroy();
    seen.set('F2-removed', await observe(rig, null));

    m = await rig.create('mir', `disk 3 /dev/mapper/mlog 128 sync ${LEGS}`);
    await waitForSync(m);
    seen.set('G-forced-sync', await observe(rig, m));
    await m.destroy();
    seen.set('G2-removed', await observe(rig, null));

    leg1.stallWrites = true; // delay target holding leg1's writes past the power cut
    m = await rig.create('mir', MIR);
    seen.set('H-activated-clean', await observe(rig, m));
    void patMirror(m, 'w3', 10);
    seen.set('H2-write-in-flight', await observe(rig, m));

    // Power cut: the mirror is abandoned, not removed. Reboot over the same bytes.
    const rig2 = new Rig();
    rig2.add('/dev/mapper/leg0', 4096, leg0.inner);
    rig2.add('/dev/mapper/leg1', 4096, leg1.inner);
    rig2.add('/dev/mapper/mlog', 128, log.inner);
    seen.set('I-after-power-cut', await observe(rig2, null));
    const recovered: number[] = [];
    rig2.bus.on((e) => {
      if (e.type === 'mirror.recovery' && e.phase === 'start') recovered.push(e.region);
    });
    m = await rig2.create('mir', MIR);
    await waitForSync(m);
    seen.set('J-resynced', await observe(rig2, m));
    expect(recovered).toEqual([10]); // only the region dirty at the power cut
    await m.destroy();
    seen.set('K-removed', await observe(rig2, null));

    for (const [name, cp] of kernel) expect({ name, ...seen.get(name) }).toEqual({ name, ...cp });
    expect([...seen.keys()].sort()).toEqual([...kernel.keys()].sort());
  });
});
