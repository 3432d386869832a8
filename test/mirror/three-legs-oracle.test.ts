// Three-leg mirrors replayed against Linux 6.1 (fixtures/mirror/three-legs.out from jobs/three-legs.sh):
// a resync write error is charged to the right leg (kcopyd's write_err bits skip the default mirror), the
// new default after the primary fails is the lowest healthy leg and the repair resync copies from it,
// and a nosync disk log over three legs.

import { describe, expect, it } from 'vitest';
import type { MirrorSet } from '../../targets/mirror/mirror.js';
import { type Checkpoint, checkpoints, lineAfter } from './support/checkpoints.js';
import {
  logSummary,
  md5Of,
  patDevice,
  patMirror,
  quiesce,
  R,
  Rig,
  readMirror,
  waitForSync,
} from './support/harness.js';

const LEGS = '3 /dev/mapper/leg0 0 /dev/mapper/leg1 0 /dev/mapper/leg2 0';
const CORE = `core 1 128 ${LEGS}`;

describe('three-leg mirrors, as Linux 6.1 runs them', () => {
  it('matches every checkpoint of three-legs.sh', async () => {
    const kernel = checkpoints('three-legs.out');
    const seen = new Map<string, Checkpoint>();
    const rig = new Rig();
    const legs = [0, 1, 2].map((i) => rig.add(`/dev/mapper/leg${i}`, 4096));
    const mlog = rig.add('/dev/mapper/mlog', 128);
    for (let r = 0; r < 32; r++) await patDevice(legs[0]!, 'init', r);
    const observe = async (name: string, m: MirrorSet | null): Promise<void> => {
      if (m) await quiesce(rig, m);
      const want = kernel.get(name)!;
      const md5 = await Promise.all(legs.slice(0, want.md5!.length).map((l) => md5Of(l.inner)));
      const cp: Checkpoint = { log: await logSummary(mlog.inner), md5: md5 as [string, string] };
      if (m) Object.assign(cp, { status: m.status('info'), table: m.status('table'), events: rig.eventNr.get('mir') });
      seen.set(name, cp);
    };

    legs[2]!.failWrites = true;
    let m = await rig.create('mir', `${CORE} 1 handle_errors`);
    await observe('T1-leg2-sync-failed', m);
    await m.destroy();
    legs[2]!.failWrites = false;

    m = await rig.create('mir', `${CORE} 2 handle_errors keep_log`);
    await waitForSync(m);
    legs[0]!.failWrites = true;
    await patMirror(m, 't2', 5);
    await observe('T2-leg0-failed', m);
    expect(m.defaultMirror).toBe(1);
    legs[0]!.failWrites = false;
    await m.presuspend({ noflush: false });
    await m.postsuspend();
    await m.resume();
    await waitForSync(m);
    await observe('T2-resynced', m);
    const first = async (i: number): Promise<string> => {
      const b = Buffer.alloc(512);
      await legs[i]!.inner.read(5 * R, b);
      return b.toString('latin1', 0, 15);
    };
    expect(lineAfter('three-legs.out', '#### T2', 'LEGS')).toBe(
      `r5 ${await first(0)} | ${await first(1)} | ${await first(2)}`,
    );
    expect((await readMirror(m, 5 * R)).toString('latin1', 0, 5)).toBe('t2-r5');
    await m.destroy();

    m = await rig.create('mir', `disk 3 /dev/mapper/mlog 128 nosync ${LEGS}`);
    await observe('T3-nosync', m);
    await m.destroy();
    await observe('T3-removed', null);

    for (const [name, cp] of kernel) expect({ name, ...seen.get(name) }).toEqual({ name, ...cp });
    expect([...seen.keys()].sort()).toEqual([...kernel.keys()].sort());
  });
});
