// Devices in the store: the kernel's status and table lines (as the oracle printed them, fixtures/mirror/
// failures.out, and reference/snapshot.md's documented examples) read into view fields, and the tree by stacking.

import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/control/event-schema.js';
import { cellCounts } from '../../tui/store/device-maps.js';
import { deviceFromSnapshot, deviceTree } from '../../tui/store/devices.js';
import type { EngineEvent } from '../../tui/store/engine-event.js';
import { reduceAll } from '../../tui/store/reduce.js';
import { initialState } from '../../tui/store/view-state.js';

/** Why the socket's check refuses an event. */
function reasonOf(raw: unknown): string {
  try {
    parseEvent(raw);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the event was accepted');
}

let seq = 0;
const ev = (type: string, fields: Record<string, unknown>): EngineEvent =>
  ({ ...fields, type, seq: ++seq, time: 1000 + seq }) as EngineEvent;
const snap = (name: string, table: string, status: string, state = 'ACTIVE') =>
  ev('tui.device', { name, table, status, state });

describe('status lines', () => {
  it('reads a mirror status the kernel printed with a failed leg (S1-leg1-failed)', () => {
    const d = deviceFromSnapshot({
      name: 'm',
      table: '0 4000 mirror core 1 128 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0',
      status: '0 4000 mirror 2 /dev/mapper/leg0 /dev/mapper/leg1 31/32 1 AD 1 core',
      state: 'ACTIVE',
    });
    expect(d.mirror).toMatchObject({
      inSync: 31,
      regions: 32,
      health: 'AD',
      log: '1 core',
      regionSectors: 128,
      legs: ['/dev/mapper/leg0', '/dev/mapper/leg1'],
    });
    expect(d.uses).toEqual(['/dev/mapper/leg0', '/dev/mapper/leg1']);
    expect(d.sizeSectors).toBe(4000);
  });

  it('reads a disk-log mirror and counts the log device among the devices it uses', () => {
    const d = deviceFromSnapshot({
      name: 'm',
      table: '0 4000 mirror disk 2 /dev/mapper/mlog 128 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0 1 handle_errors',
      status: '0 4000 mirror 2 /dev/mapper/leg0 /dev/mapper/leg1 32/32 1 AA 3 disk /dev/mapper/mlog D',
      state: 'ACTIVE',
    });
    expect(d.mirror).toMatchObject({ inSync: 32, regions: 32, health: 'AA', log: '3 disk /dev/mapper/mlog D' });
    expect(d.uses).toEqual(['/dev/mapper/mlog', '/dev/mapper/leg0', '/dev/mapper/leg1']);
  });

  it('reads snapshot usage, Invalid and Overflow (snapshot.md section 5 examples)', () => {
    const table = '0 2048 snapshot /dev/mapper/base-real /tmp/cow.img P 8';
    expect(
      deviceFromSnapshot({ name: 's', table, status: '0 2048 snapshot 24/2048 16', state: 'ACTIVE' }).snapshot,
    ).toMatchObject({
      allocated: 24,
      total: 2048,
      metadata: 16,
      invalid: false,
      chunkSectors: 8,
      origin: '/dev/mapper/base-real',
    });
    expect(
      deviceFromSnapshot({ name: 's', table, status: '0 2048 snapshot Invalid', state: 'ACTIVE' }).snapshot?.invalid,
    ).toBe(true);
    expect(
      deviceFromSnapshot({ name: 's', table, status: '0 2048 snapshot Overflow', state: 'ACTIVE' }).snapshot?.overflow,
    ).toBe(true);
    const merge = deviceFromSnapshot({
      name: 's',
      table: table.replace('snapshot ', 'snapshot-merge '),
      status: '0 2048 snapshot-merge Merge failed',
      state: 'ACTIVE',
    });
    expect(merge.snapshot).toMatchObject({ merging: true, mergeFailed: true });
  });
});

describe('device tree by stacking', () => {
  it('puts an origin above its snapshots, a device above what it stacks on, and lists each device once', () => {
    const s = reduceAll(initialState(0), [
      snap('base-real', '0 2048 linear /tmp/base.img 0', '0 2048 linear '),
      snap('base', '0 2048 snapshot-origin /dev/mapper/base-real', '0 2048 snapshot-origin '),
      snap('s1', '0 2048 snapshot /dev/mapper/base-real /tmp/cow1.img P 8', '0 2048 snapshot 16/512 16'),
      snap('s2', '0 2048 snapshot /dev/mapper/base-real /tmp/cow2.img P 8', '0 2048 snapshot 16/512 16'),
      snap('leg0', '0 4000 linear /tmp/l0.img 0', '0 4000 linear '),
      snap('leg1', '0 4000 linear /tmp/l1.img 0', '0 4000 linear '),
      snap(
        'm',
        '0 4000 mirror core 1 128 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0',
        '0 4000 mirror 2 /dev/mapper/leg0 /dev/mapper/leg1 30/32 1 AA 1 core',
      ),
    ]);
    const rows = deviceTree(s.devices).map((r) => `${'-'.repeat(r.depth)}${r.device.name}`);
    expect(rows).toEqual(['base', '-base-real', '-s1', '-s2', 'm', '-leg0', '-leg1']);
  });
});

describe('device events', () => {
  const start = reduceAll(initialState(0), [
    snap(
      'm',
      '0 4000 mirror core 1 128 2 /tmp/l0.img 0 /tmp/l1.img 0',
      '0 4000 mirror 2 /tmp/l0.img /tmp/l1.img 30/32 1 AA 1 core',
    ),
    snap('s', '0 64 snapshot /tmp/o.img /tmp/c.img P 8', '0 64 snapshot 16/64 16'),
  ]);

  it('a fresh mirror map has the regions past the sync count out of sync (resync goes in ascending order)', () => {
    const m = start.maps.get('m')!;
    expect(m.size).toBe(32);
    expect(cellCounts(m)).toEqual(
      new Map([
        ['clean', 30],
        ['nosync', 2],
      ]),
    );
  });

  it('a snapshot of the same table keeps the map; a new table (a rebuilt mirror) starts a new one', () => {
    const regionDone = ev('mirror.recovery', {
      device: 'm',
      region: 31,
      phase: 'end',
      ok: true,
      sector: 3968,
      count: 128,
      source: 0,
    });
    let s = reduceAll(start, [regionDone]);
    expect(cellCounts(s.maps.get('m')!).get('nosync')).toBe(1);
    s = reduceAll(s, [
      snap(
        'm',
        '0 4000 mirror core 1 128 2 /tmp/l0.img 0 /tmp/l1.img 0',
        '0 4000 mirror 2 /tmp/l0.img /tmp/l1.img 31/32 1 AA 1 core',
      ),
    ]);
    expect(cellCounts(s.maps.get('m')!).get('nosync')).toBe(1);
    s = reduceAll(s, [
      snap(
        'm',
        '0 4000 mirror core 1 128 2 /tmp/l1.img 0 /tmp/l2.img 0',
        '0 4000 mirror 2 /tmp/l1.img /tmp/l2.img 0/32 1 AA 1 core',
      ),
    ]);
    expect(cellCounts(s.maps.get('m')!)).toEqual(
      new Map([
        ['clean', 0],
        ['nosync', 32],
      ]),
    );
  });

  it('suspend and resume change the state; remove drops the device and its map', () => {
    let s = reduceAll(start, [ev('dm.suspended', { device: 'm', noflush: false })]);
    expect(s.devices.get('m')!.state).toBe('SUSPENDED');
    s = reduceAll(s, [ev('dm.resumed', { device: 'm' })]);
    expect(s.devices.get('m')!.state).toBe('ACTIVE');
    s = reduceAll(s, [ev('dm.removed', { device: 'm', minor: 0 })]);
    expect(s.devices.has('m')).toBe(false);
    expect(s.maps.has('m')).toBe(false);
  });

  it('a snapshot taken while an error table is swapped in marks the device failed', () => {
    const s = reduceAll(start, [
      ev('tui.device', { name: 's', table: '0 64 error', status: '0 64 error ', state: 'ACTIVE', failed: true }),
    ]);
    expect(s.devices.get('s')).toMatchObject({ failed: true, target: 'error' });
    expect(s.devices.get('s')!.snapshot).toBeUndefined();
  });

  it('an event the socket dropped (a kind the client does not know) is logged as an error with the reason', () => {
    const reason = reasonOf({ type: 'future.thing', seq: 1, time: 1, device: 'm', answer: 42 });
    expect(reason).toBe('malformed event: unknown type "future.thing"');
    const s = reduceAll(start, [ev('tui.dropped', { reason })]);
    expect(s.log.entries[0]).toMatchObject({
      device: '',
      text: `dropped an event from the daemon: ${reason}`,
      level: 'error',
    });
  });
});
