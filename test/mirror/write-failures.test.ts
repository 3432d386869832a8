// Write-failure paths the reference documents (reference/mirror.md section 5, dm-raid1.c do_failures and
// write_callback) beyond the oracle scenarios: every leg failed, keep_log with a dead log, untried holds
// of out-of-sync writes under handle_errors, discards that fail without degrading the mirror, and a failed
// PREFLUSH making idle regions out of sync.

import { describe, expect, it } from 'vitest';
import { quiesce, Rig, syncRatio, waitForSync } from './support/harness.js';

const LEN = 512; // 8 regions of 64 sectors

async function mirror(table: string): Promise<{ rig: Rig; m: Awaited<ReturnType<Rig['create']>> }> {
  const rig = new Rig();
  rig.add('/dev/a', LEN);
  rig.add('/dev/b', LEN);
  rig.add('/dev/log', 8);
  const m = await rig.create('m', table, LEN);
  await waitForSync(m);
  return { rig, m };
}

const write = (m: Awaited<ReturnType<Rig['create']>>, sector: number): Promise<void> =>
  m.map({ op: 'write', sector, count: 1, buf: Buffer.alloc(512, 9) });

describe('mirror write failures', () => {
  it('fails the write with EIO when every leg failed', async () => {
    const { rig, m } = await mirror('core 1 64 2 /dev/a 0 /dev/b 0');
    rig.dev('/dev/a').failWrites = rig.dev('/dev/b').failWrites = true;
    await expect(write(m, 10)).rejects.toMatchObject({ code: 'EIO' });
    expect(m.status('info')).toMatch(/ 7\/8 1 DD 1 core$/);
  });

  it('fails the write with EIO under keep_log once the log has failed', async () => {
    const { rig, m } = await mirror('disk 2 /dev/log 64 2 /dev/a 0 /dev/b 0 2 handle_errors keep_log');
    rig.dev('/dev/log').failWrites = true;
    await expect(write(m, 10)).rejects.toMatchObject({ code: 'EIO' });
    expect(m.status('info')).toMatch(/ 8\/8 1 AA 3 disk \/dev\/log D$/);
  });

  it('under handle_errors without keep_log, holds a write to an out-of-sync region without trying it', async () => {
    const { rig, m } = await mirror('core 1 64 2 /dev/a 0 /dev/b 0 1 handle_errors');
    rig.dev('/dev/b').failWrites = true;
    void write(m, 10).catch(() => {}); // held: region 0 goes out of sync
    await quiesce(rig, m);
    rig.journal.length = 0;
    let settled = false;
    void write(m, 20).then(
      () => (settled = true),
      () => (settled = true),
    );
    await quiesce(rig, m);
    expect(settled).toBe(false);
    expect(rig.journal.filter(([, op]) => op === 'write')).toEqual([]); // not even the default leg
    await m.presuspend({ noflush: false });
    await m.postsuspend();
    expect(settled).toBe(true);
  });

  it('a discard that fails on a leg reports "not supported" and does not degrade the mirror', async () => {
    const { rig, m } = await mirror('core 1 64 2 /dev/a 0 /dev/b 0 1 handle_errors');
    rig.dev('/dev/b').failWrites = true;
    await expect(m.map({ op: 'discard', sector: 64, count: 64 })).rejects.toThrow(/not supported/);
    expect(m.status('info')).toMatch(/ 8\/8 1 AA 1 core$/);
  });

  it('after a failed PREFLUSH write, a region that goes idle is out of sync', async () => {
    const { rig, m } = await mirror('core 1 64 2 /dev/a 0 /dev/b 0');
    rig.dev('/dev/b').failFlushes = true;
    await m.map({ op: 'flush', sector: 0, count: 0 }); // no handle_errors: the writer sees success
    await quiesce(rig, m);
    rig.dev('/dev/b').failFlushes = false;
    await write(m, 3 * 64);
    await quiesce(rig, m);
    expect(syncRatio(m)).toEqual([8, 8]); // the log still counts it in sync ...
    expect(m.rh.getState(3)).toBe(4); // ... but the region hash keeps it NOSYNC: writes go to the default only
  });
});
