// Leg and log failures replayed against Linux 6.1 (fixtures/mirror/failures.out from
// fixtures/mirror/jobs/failures.sh): without and with handle_errors and keep_log, the primary failing,
// read failover, resync onto a failing leg, a dead disk log. Legs are failed the way the job fails them
// (flakey error_writes -> writes and flushes fail; an error table -> everything fails).

import { describe, expect, it } from 'vitest';
import type { MirrorSet } from '../../targets/mirror/mirror.js';
import { type Checkpoint, checkpoints, lineAfter } from './support/checkpoints.js';
import { md5Of, patDevice, patMirror, quiesce, R, Rig, readMirror, settle, waitForSync } from './support/harness.js';

const LEGS = '2 /dev/mapper/leg0 0 /dev/mapper/leg1 0';
const CORE = `core 1 128 ${LEGS}`;
const DISK = `disk 2 /dev/mapper/mlog 128 ${LEGS}`;

/** Tracks a promise's outcome without awaiting it. */
function track(p: Promise<void>): { state: 'pending' | 'ok' | 'failed' } {
  const t = { state: 'pending' as 'pending' | 'ok' | 'failed' };
  p.then(
    () => (t.state = 'ok'),
    () => (t.state = 'failed'),
  );
  return t;
}

async function suspendResume(m: MirrorSet): Promise<void> {
  await m.presuspend({ noflush: false });
  await m.postsuspend();
  await m.resume();
}

const firstLine = (b: Buffer): string => b.toString('latin1', 0, 15);

describe('leg and log failures, as Linux 6.1 handles them', () => {
  it('matches every checkpoint of failures.sh', async () => {
    const kernel = checkpoints('failures.out');
    const seen = new Map<string, Checkpoint>();
    const rig = new Rig();
    const leg0 = rig.add('/dev/mapper/leg0', 4096);
    const leg1 = rig.add('/dev/mapper/leg1', 4096);
    const mlog = rig.add('/dev/mapper/mlog', 128);
    for (let r = 0; r < 32; r++) await patDevice(leg0, 'init', r);
    const observe = async (name: string, m: MirrorSet): Promise<void> => {
      await quiesce(rig, m);
      seen.set(name, {
        status: m.status('info'),
        table: m.status('table'),
        events: rig.eventNr.get('mir'),
        md5: [await md5Of(leg0.inner), await md5Of(leg1.inner)],
      });
    };
    const expectLine = async (after: string, key: string, sector: number, m: MirrorSet): Promise<void> => {
      const want = lineAfter('failures.out', after, key);
      if (want === '') await expect(readMirror(m, sector)).rejects.toMatchObject({ code: 'EIO' });
      else expect(firstLine(await readMirror(m, sector))).toBe(want);
    };

    // S1: no features; leg1's write fails, the writer never knows.
    let m = await rig.create('mir', CORE);
    await waitForSync(m);
    await observe('S1-synced', m);
    leg1.failWrites = true;
    await patMirror(m, 's1', 4);
    await observe('S1-leg1-failed', m);
    await expectLine('#### S1', 'READ', 4 * R, m);
    await m.destroy();
    leg1.failWrites = false;

    // S2: handle_errors holds the failed write until the suspend, which fails it.
    m = await rig.create('mir', `${CORE} 1 handle_errors`);
    await waitForSync(m);
    leg1.failWrites = true;
    const held = track(patMirror(m, 's2', 4));
    await observe('S2-held', m);
    expect(held.state).toBe('pending'); // HELD yes
    await m.presuspend({ noflush: false });
    await m.postsuspend();
    await settle();
    expect(held.state).toBe('failed'); // WRITE rc=1
    await m.resume();
    await observe('S2-after-suspend', m);
    await m.destroy();
    leg1.failWrites = false;

    // S3: keep_log makes handle_errors non-blocking.
    m = await rig.create('mir', `${CORE} 2 keep_log handle_errors`);
    await waitForSync(m);
    leg1.failWrites = true;
    await patMirror(m, 's3', 4);
    await observe('S3-leg1-failed', m);
    await m.destroy();
    leg1.failWrites = false;

    // S4: the primary fails under handle_errors keep_log: the default mirror switches to leg1,
    // so the resync after repair copies leg1 onto leg0.
    m = await rig.create('mir', `${CORE} 2 handle_errors keep_log`);
    await waitForSync(m);
    leg0.failWrites = true;
    await patMirror(m, 's4', 6);
    await observe('S4-leg0-failed', m);
    expect(m.defaultMirror).toBe(1);
    await expectLine('#### S4', 'READ', 6 * R, m);
    leg0.failWrites = false;
    await suspendResume(m);
    await waitForSync(m);
    await observe('S4-resynced', m);
    const legs4 = `${firstLine(await readMirror(m, 6 * R))}`;
    expect(lineAfter('failures.out', '#### S4', 'LEGS')).toBe(
      `r6 ${legs4} | ${firstLine(await rawSector(leg1.inner, 6 * R))}`,
    );
    await m.destroy();

    // S5: without handle_errors the default stays leg0, whose copy (without the write) wins the resync.
    m = await rig.create('mir', CORE);
    await waitForSync(m);
    leg0.failWrites = true;
    await patMirror(m, 's5', 9);
    await observe('S5-leg0-failed', m);
    await expectLine('#### S5', 'READ', 9 * R, m);
    leg0.failWrites = false;
    await suspendResume(m);
    await waitForSync(m);
    await observe('S5-resynced', m);
    expect(lineAfter('failures.out', '#### S5', 'LEGS')).toBe(
      `r9 ${firstLine(await rawSector(leg0.inner, 9 * R))} | ${firstLine(await rawSector(leg1.inner, 9 * R))}`,
    );
    await m.destroy();

    // S6: leg0 becomes an error target: the read fails over to leg1.
    m = await rig.create('mir', CORE);
    await waitForSync(m);
    leg0.failReads = leg0.failWrites = true;
    await expectLine('#### S6', 'READ', 2 * R, m);
    await observe('S6-leg0-read-failed', m);
    await expectLine('#### S6', 'READ2', 3 * R, m);
    await m.destroy();
    leg0.failReads = leg0.failWrites = false;

    // S7/S8: resync onto a leg that fails every write.
    leg1.failWrites = true;
    m = await rig.create('mir', CORE);
    await waitForSync(m);
    await observe('S7-synced', m);
    await m.destroy();
    m = await rig.create('mir', `${CORE} 1 handle_errors`);
    await observe('S8-after-resync', m);
    await m.destroy();
    leg1.failWrites = false;

    // S9/S10: the disk log dies (an error table under it).
    m = await rig.create('mir', DISK);
    await waitForSync(m);
    mlog.failReads = mlog.failWrites = true;
    await patMirror(m, 's9', 8);
    await observe('S9-log-dead', m);
    await m.destroy();
    mlog.failReads = mlog.failWrites = false;
    m = await rig.create('mir', `${DISK} 1 handle_errors`);
    await waitForSync(m);
    mlog.failReads = mlog.failWrites = true;
    const held10 = track(patMirror(m, 's10', 8));
    await observe('S10-log-dead', m);
    expect(held10.state).toBe('pending');
    await m.presuspend({ noflush: false });
    await m.postsuspend();
    await settle();
    expect(held10.state).toBe('failed');
    await m.resume();
    await observe('S10-after-suspend', m);
    await m.destroy();

    for (const [name, cp] of kernel) {
      const got = seen.get(name);
      expect({ name, ...got, log: undefined }).toEqual({ name, ...cp, log: undefined });
    }
    expect([...seen.keys()].sort()).toEqual([...kernel.keys()].sort());
  });
});

async function rawSector(dev: { read(s: number, b: Buffer): Promise<void> }, sector: number): Promise<Buffer> {
  const b = Buffer.alloc(512);
  await dev.read(sector, b);
  return b;
}
