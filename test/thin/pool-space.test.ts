// Running out of data space, the low water mark, skip_block_zeroing, growing the data device, the
// no_space_timeout, discards and read_only: the session of thin.md's job 2 (reference/thin-jobs/job2.out) on a
// ManualClock, with the status lines and event counts 6.1 printed.

import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';
import type { DmEvent } from '../../src/base/events.js';
import { poolRegistryFor } from '../../targets/thin/pool-registry.js';
import { Lab } from '../snapshot/support/dm.js';
import { outcome } from '../targets/helpers.js';
import { hasThinTools, imageOf, thinCheck } from './thin-tools.js';

const B = 65536;
const pat = (tag: string, len: number): Buffer => Buffer.from(`${tag.padEnd(15).slice(0, 15)}\n`.repeat(len / 16));

function nextEvent(lab: Lab, pred: (e: DmEvent) => boolean): Promise<DmEvent> {
  return new Promise((resolve) => {
    const off = lab.bus.on((e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

describe('a pool that runs out of data space (job 2)', () => {
  test('low water event, queued write, growth, no_space_timeout, error_if_no_space, discard, read_only as on 6.1', async () => {
    const clock = new ManualClock(1_000_000);
    const lab = new Lab({ clock });
    const parameters = poolRegistryFor(lab.dm.targetKcopyd).parameters;
    expect(parameters.noSpaceTimeout).toBe(60); // job2.out: no_space_timeout default: 60
    const meta = await lab.disk('meta', 8192);
    await lab.disk('data', 8192, Buffer.alloc(8192 * 512, 'D'));
    const T = 'thin0';
    const pool = async (): Promise<string> => lab.status('pool');
    const thin = async (): Promise<string> => lab.status(T);
    const events = async (): Promise<number> => (await lab.dm.info('pool'))[0]!.eventNr;
    await lab.dm.create('dlin', '0 2048 linear data 0');
    await lab.dm.create('pool', '0 2048 thin-pool meta /dev/mapper/dlin 128 4 1 skip_block_zeroing');
    await lab.dm.message('pool', 0, ['create_thin', '0']);
    await lab.dm.create(T, '0 8192 thin /dev/mapper/pool 0');
    expect(await lab.table('pool')).toBe('meta /dev/mapper/dlin 128 4 1 skip_block_zeroing ');
    expect(await pool()).toBe('0 112/1024 0/16 - rw discard_passdown queue_if_no_space - 256 ');
    expect(await thin()).toBe('0 -');

    // skip_block_zeroing: the rest of a partly written new block keeps what the data device held.
    await lab.write(T, 8, pat('skipz-b0', 4096));
    const b0 = await lab.read(T, 0, 128);
    expect(b0.subarray(0, 15).toString()).toBe('DDDDDDDDDDDDDDD');
    expect(b0.subarray(4096, 4104).toString()).toBe('skipz-b0');
    expect(b0.subarray(8192, 8207).toString()).toBe('DDDDDDDDDDDDDDD');

    for (let b = 1; b <= 11; b++) await lab.write(T, (b * B) / 512, pat(`fill-b${b}`, B));
    expect(await pool()).toBe('0 112/1024 12/16 - rw discard_passdown queue_if_no_space - 256 ');
    expect(await thin()).toBe('1536 1535');
    expect(await events()).toBe(0);
    await lab.write(T, (12 * B) / 512, pat('fill-b12', B));
    expect(await pool()).toBe('0 112/1024 13/16 - rw discard_passdown queue_if_no_space - 256 ');
    expect(await events()).toBe(1);
    for (const b of [13, 14, 15]) await lab.write(T, (b * B) / 512, pat(`fill-b${b}`, B));
    expect(await pool()).toBe('0 112/1024 16/16 - rw discard_passdown queue_if_no_space - 256 ');
    expect(await events()).toBe(1);

    // A write that needs a block now waits (queue_if_no_space, no_space_timeout 0: for ever); other I/O goes on.
    parameters.noSpaceTimeout = 0;
    const oods = nextEvent(lab, (e) => e.type === 'thin.pool.mode');
    const queued = lab.write(T, (20 * B) / 512, pat('queued-b20', B));
    let done = false;
    void queued.then(() => {
      done = true;
    });
    await oods;
    expect(await pool()).toBe('0 112/1024 16/16 - out_of_data_space discard_passdown queue_if_no_space - 256 ');
    expect(await events()).toBe(2);
    expect((await lab.read(T, (30 * B) / 512, 1)).every((x) => x === 0)).toBe(true);
    await lab.write(T, (5 * B) / 512, pat('over-b5', 4096));
    await lab.dm.message('pool', 0, ['create_thin', '1']);
    clock.advance(3_600_000);
    expect(done).toBe(false);

    // Growing the data device (reload over a bigger linear) lets the queued write through.
    await lab.dm.suspend('pool');
    await lab.reload('dlin', '0 4096 linear data 0');
    await lab.dm.load('pool', '0 4096 thin-pool meta /dev/mapper/dlin 128 4 1 skip_block_zeroing');
    await lab.dm.resume('pool');
    await queued;
    expect(await pool()).toBe('0 113/1024 17/32 - rw discard_passdown queue_if_no_space - 256 ');
    expect(await thin()).toBe('2176 2687');
    expect(await events()).toBe(3);
    for (let b = 21; b <= 35; b++) await lab.write(T, (b * B) / 512, pat(`fill2-b${b}`, B));
    expect(await pool()).toBe('0 113/1024 32/32 - rw discard_passdown queue_if_no_space - 256 ');
    expect(await thin()).toBe('4096 4607');
    expect(await events()).toBe(4);

    // no_space_timeout 3: the queued write fails with ENOSPC when it fires, the status (not the table) says
    // error_if_no_space, and a later allocating write fails at once.
    parameters.noSpaceTimeout = 3;
    const oods2 = nextEvent(lab, (e) => e.type === 'thin.pool.mode');
    const timed = outcome(lab.write(T, (40 * B) / 512, pat('timeout-b40', B)));
    await oods2;
    clock.advance(2999);
    expect(await pool()).toBe('0 113/1024 32/32 - out_of_data_space discard_passdown queue_if_no_space - 256 ');
    expect(await events()).toBe(5);
    clock.advance(1);
    expect(await timed).toBe('ENOSPC');
    expect(await pool()).toBe('0 113/1024 32/32 - out_of_data_space discard_passdown error_if_no_space - 256 ');
    expect(await thin()).toBe('4096 4607');
    expect(await events()).toBe(6);
    expect(await lab.table('pool')).toBe('meta /dev/mapper/dlin 128 4 1 skip_block_zeroing ');
    await expect(lab.write(T, (41 * B) / 512, pat('after-timeout', 4096))).rejects.toMatchObject({ code: 'ENOSPC' });

    // error_if_no_space: the allocating write fails at once.
    await lab.reload('pool', '0 4096 thin-pool meta /dev/mapper/dlin 128 4 2 skip_block_zeroing error_if_no_space');
    expect(await lab.table('pool')).toBe('meta /dev/mapper/dlin 128 4 2 skip_block_zeroing error_if_no_space ');
    expect(await pool()).toBe('0 113/1024 32/32 - rw discard_passdown error_if_no_space - 256 ');
    expect(await events()).toBe(7);
    await expect(lab.write(T, (42 * B) / 512, pat('eins-b42', B))).rejects.toMatchObject({ code: 'ENOSPC' });

    // Discards: whole blocks 1..4 are unmapped, half a block changes nothing.
    const dev = await lab.dm.open(T);
    await dev.discard(B / 512, (4 * B) / 512);
    await dev.discard((6 * B) / 512, 64);
    await dev.close();
    expect(await pool()).toBe('0 113/1024 28/32 - rw discard_passdown error_if_no_space - 256 ');
    expect(await thin()).toBe('3584 4607');
    await lab.write(T, (42 * B) / 512, pat('after-discard-b42', B));
    expect(await pool()).toBe('0 113/1024 29/32 - rw discard_passdown error_if_no_space - 256 ');
    expect(await thin()).toBe('3712 5503');

    // read_only: new blocks fail with EIO, owned ones are written, messages are refused.
    await lab.reload('pool', '0 4096 thin-pool meta /dev/mapper/dlin 128 4 1 read_only');
    expect(await lab.table('pool')).toBe('meta /dev/mapper/dlin 128 4 1 read_only ');
    expect(await pool()).toBe('0 113/1024 29/32 - ro discard_passdown queue_if_no_space - 256 ');
    await expect(lab.write(T, (43 * B) / 512, pat('ro-new', 4096))).rejects.toMatchObject({ code: 'EIO' });
    await lab.write(T, (42 * B) / 512, pat('ro-existing', 4096));
    expect((await lab.read(T, 0, 1)).subarray(0, 15).toString()).toBe('DDDDDDDDDDDDDDD');
    await expect(lab.dm.message('pool', 0, ['create_thin', '5'])).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    await lab.reload('pool', '0 4096 thin-pool meta /dev/mapper/dlin 128 4 0');
    expect(await pool()).toBe('0 113/1024 29/32 - rw discard_passdown queue_if_no_space - 256 ');

    const modes = lab.events.filter((e) => e.type === 'thin.pool.mode').map((e) => (e as { message: string }).message);
    expect(modes).toContain('pool: switching pool to out-of-data-space (queue IO) mode');
    expect(modes).toContain('pool: switching pool to out-of-data-space (error IO) mode');
    expect(modes).toContain('pool: switching pool to read-only mode');
    await lab.dm.remove(T);
    await lab.dm.remove('pool');
    if (hasThinTools) expect(thinCheck(await imageOf(meta)).status).toBe(0);
  });
});

describe('no_space_timeout (dm_thin_pool module parameter, default 60 s)', () => {
  async function fullPool() {
    const clock = new ManualClock(1_000_000);
    const lab = new Lab({ clock });
    await lab.disk('meta', 8192);
    await lab.disk('data', 8192);
    await lab.dm.create('dlin', '0 256 linear data 0');
    await lab.dm.create('pool', '0 256 thin-pool meta /dev/mapper/dlin 128 0');
    await lab.dm.message('pool', 0, ['create_thin', '0']);
    await lab.dm.create('t', '0 1024 thin /dev/mapper/pool 0');
    for (const b of [0, 1]) await lab.write('t', b * 128, pat(`b${b}`, B));
    const oods = nextEvent(lab, (e) => e.type === 'thin.pool.mode');
    const queued = outcome(lab.write('t', 2 * 128, pat('queued', B)));
    await oods;
    const modes = () => lab.events.filter((e) => e.type === 'thin.pool.mode').map((e) => (e as { mode: string }).mode);
    return { clock, lab, queued, modes };
  }

  test('errors the queued write with ENOSPC 60 s after the pool ran out, not before', async () => {
    const { clock, lab, queued, modes } = await fullPool();
    clock.advance(59_999);
    expect(await lab.status('pool')).toContain(' out_of_data_space discard_passdown queue_if_no_space ');
    clock.advance(1);
    expect(await queued).toBe('ENOSPC');
    expect(await lab.status('pool')).toContain(' out_of_data_space discard_passdown error_if_no_space ');
    expect(modes()).toEqual(['out-of-data-space', 'out-of-data-space']);
  });

  test('growing the data device before it fires lets the write through and disarms it', async () => {
    const { clock, lab, queued, modes } = await fullPool();
    clock.advance(30_000);
    await lab.dm.suspend('pool');
    await lab.reload('dlin', '0 512 linear data 0');
    await lab.dm.load('pool', '0 512 thin-pool meta /dev/mapper/dlin 128 0');
    await lab.dm.resume('pool');
    expect(await queued).toBe('ok');
    clock.advance(120_000);
    expect(await lab.status('pool')).toContain(' 3/4 - rw discard_passdown queue_if_no_space ');
    expect(modes()).toEqual(['out-of-data-space', 'write']);
    expect((await lab.read('t', 2 * 128, 1)).subarray(0, 6).toString()).toBe('queued');
  });
});
