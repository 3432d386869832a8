// The thin target's I/O paths as thin.md §4 records them on 6.1 (jobs 1 and 5): zeroing of partly written new
// blocks and sharing broken by kcopyd jobs owned by `thin`, whole-block writes that need no copy, external
// origins, the time-based "shared" test, flushes that commit; then table and message refusals.

import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';
import type { DmEvent } from '../../src/base/events.js';
import type { KcopydJobEvent } from '../../src/kcopyd/events.js';
import { Lab } from '../snapshot/support/dm.js';
import { hasThinTools, imageOf, thinCheck, thinDump } from './thin-tools.js';

const B = 65536;
const S = B / 512;
const pat = (tag: string, len: number): Buffer => Buffer.from(`${tag.padEnd(15).slice(0, 15)}\n`.repeat(len / 16));

/** A pool over a 'D'-filled data device with thin 0 active (thin.md's jobs prefill the data image so). */
async function poolWithThin(features = '0', dataBlocks = 256): Promise<Lab> {
  const lab = new Lab();
  await lab.disk('meta', 8192);
  await lab.disk('data', dataBlocks * S, Buffer.alloc(dataBlocks * B, 'D'));
  await lab.dm.create('pool', `0 ${dataBlocks * S} thin-pool meta data 128 16 ${features}`);
  await lab.dm.message('pool', 0, ['create_thin', '0']);
  await lab.dm.create('thin0', '0 32768 thin /dev/mapper/pool 0');
  return lab;
}

const thinJobs = (events: DmEvent[]): KcopydJobEvent[] =>
  events
    .filter((e) => e.type === 'kcopyd.job')
    .map((e) => e as unknown as KcopydJobEvent & DmEvent)
    .filter((e) => e.owner === 'thin' && e.phase === 'complete');

describe('provisioning', () => {
  test('a partial write into a new block zeroes the rest through a kcopyd zero job owned by thin', async () => {
    const lab = await poolWithThin();
    await lab.write('thin0', 3 * S + 8, pat('t0-b3-4k', 4096));
    const blk = await lab.read('thin0', 3 * S, S);
    expect(blk.subarray(4096, 4104).toString()).toBe('t0-b3-4k');
    expect(blk.subarray(0, 4096).every((x) => x === 0)).toBe(true);
    expect(blk.subarray(8192).every((x) => x === 0)).toBe(true);
    const jobs = thinJobs(lab.events);
    expect(jobs.map((j) => [j.kind, j.dests[0]?.count])).toEqual([['zero', 128]]);
  });

  test('a whole-block write needs no kcopyd job; an unmapped read gives zeros and allocates nothing', async () => {
    const lab = await poolWithThin();
    await lab.write('thin0', 0, pat('t0-b0-full', B));
    expect((await lab.read('thin0', 100 * S, 8)).every((x) => x === 0)).toBe(true);
    expect(thinJobs(lab.events)).toEqual([]);
    expect(await lab.status('thin0')).toBe('128 127');
    expect(await lab.status('pool')).toBe('0 112/1024 1/256 - rw discard_passdown queue_if_no_space - 256 ');
  });

  test('after create_snap, a 4 KiB write copies the shared block first; a 64 KiB one does not (job 1)', async () => {
    const lab = await poolWithThin();
    await lab.write('thin0', 0, pat('t0-b0-full', B));
    await lab.write('thin0', 8 * S, pat('t0-b8-11', 4 * B));
    await lab.dm.suspend('thin0');
    await lab.dm.message('pool', 0, ['create_snap', '1', '0']);
    await lab.dm.resume('thin0');
    await lab.dm.create('thin1', '0 32768 thin /dev/mapper/pool 1');
    expect(await lab.status('thin1')).toBe('640 1535');
    await lab.write('thin0', 16, pat('t0-b0-new4k', 4096));
    await lab.write('thin0', 8 * S, pat('t0-b8-new64k', B));
    const b0 = await lab.read('thin0', 0, S);
    expect(b0.subarray(0, 10).toString()).toBe('t0-b0-full');
    expect(b0.subarray(8192, 8203).toString()).toBe('t0-b0-new4k');
    expect((await lab.read('thin0', 8 * S, S)).subarray(0, 12).toString()).toBe('t0-b8-new64k');
    // The snapshot still sees the old data.
    expect((await lab.read('thin1', 0, S)).subarray(8192, 8202).toString()).toBe('t0-b0-full');
    expect((await lab.read('thin1', 8 * S, 1)).subarray(0, 8).toString()).toBe('t0-b8-11');
    const jobs = thinJobs(lab.events);
    expect(jobs.map((j) => [j.kind, j.source?.sector, j.dests[0]?.sector])).toEqual([['copy', 0, 5 * S]]);
    expect(await lab.status('pool')).toBe('0 113/1024 7/256 - rw discard_passdown queue_if_no_space - 256 ');
    if (hasThinTools) {
      await lab.dm.remove('thin1');
      await lab.dm.remove('thin0');
      await lab.dm.remove('pool');
      const dump = thinDump(await imageOf(lab.disks.get('meta')!));
      expect(dump.time).toBe(1);
      const d0 = dump.devices.find((d) => d.id === 0)!;
      expect([d0.creationTime, d0.snapTime, d0.mappedBlocks]).toEqual([0, 1, 5]);
      expect(d0.mappings.get(0)).toEqual([5, 1]);
      expect(d0.mappings.get(8)).toEqual([6, 1]);
      expect(d0.mappings.get(9)).toEqual([2, 0]);
    }
  });

  test('skip_block_zeroing leaves the rest of a new block as the data device held it', async () => {
    const lab = await poolWithThin('1 skip_block_zeroing');
    await lab.write('thin0', 8, pat('skipz', 4096));
    const blk = await lab.read('thin0', 0, 24);
    expect(blk.subarray(0, 4).toString()).toBe('DDDD');
    expect(blk.subarray(8192, 8196).toString()).toBe('DDDD');
    expect(thinJobs(lab.events)).toEqual([]);
  });

  test('a write after the snapshot was deleted still relocates the block (shared is decided by time)', async () => {
    const lab = await poolWithThin();
    await lab.write('thin0', 0, pat('before', B));
    await lab.dm.message('pool', 0, ['create_snap', '1', '0']);
    await lab.dm.message('pool', 0, ['delete', '1']);
    await lab.write('thin0', 8, pat('after-del', 4096));
    expect(await lab.status('pool')).toBe('0 112/1024 1/256 - rw discard_passdown queue_if_no_space - 256 ');
    expect(thinJobs(lab.events).map((j) => j.kind)).toEqual(['copy']);
  });

  test('a flush commits the mappings of a device that changed', async () => {
    const lab = await poolWithThin();
    const dev = await lab.dm.open('thin0');
    const commits = (): number => lab.events.filter((e) => e.type === 'thin.pool.commit').length;
    await dev.write(0, pat('nosync', B));
    const before = commits();
    await dev.flush();
    expect(commits()).toBe(before + 1);
    await dev.flush();
    expect(commits()).toBe(before + 1);
    await dev.close();
  });
});

describe('an external origin (job 5)', () => {
  test('reads of unmapped blocks come from the origin; the first write copies its part and zeroes the rest', async () => {
    const lab = await poolWithThin();
    const lines: string[] = [];
    for (let i = 0; i < (B * 16 + 32768) / 16; i++) lines.push(`O-${String(i).padStart(6, '0')}-------\n`);
    const origin = await lab.disk('origin', (B * 16 + 32768) / 512, Buffer.from(lines.join('')));
    await lab.dm.message('pool', 0, ['create_thin', '7']);
    await lab.dm.create('ext', '0 4096 thin /dev/mapper/pool 7 origin');
    expect(await lab.table('ext')).toBe('/dev/mapper/pool 7 origin');
    expect(await lab.status('ext')).toBe('0 -');
    const at = async (off: number): Promise<string> =>
      (await lab.read('ext', Math.floor(off / 512), 1))
        .subarray(off % 512, (off % 512) + 15)
        .toString()
        .replaceAll('\0', '.');
    expect(await at(16 * B)).toBe('O-065536-------');
    expect(await at(16 * B + 32768)).toBe('...............');
    await lab.write('ext', 8, pat('ext-b0', 4096));
    await lab.write('ext', 16 * S, pat('ext-b16', 4096));
    await lab.write('ext', 20 * S, pat('ext-b20', 4096));
    const want: [number, string][] = [
      [0, 'O-000000-------'],
      [4096, 'ext-b0         '],
      [8192, 'O-000512-------'],
      [1048576, 'ext-b16        '],
      [1052672, 'O-065792-------'],
      [1089536, '...............'],
      [1310720, 'ext-b20        '],
      [1314816, '...............'],
    ];
    for (const [off, text] of want) expect(await at(off), `ext @${off}`).toBe(text);
    expect(await lab.status('ext')).toBe('384 2687');
    const o = Buffer.alloc(512);
    await origin.read(8, o);
    expect(o.subarray(0, 15).toString()).toBe('O-000256-------');
  });
});

describe('refusals', () => {
  test('thin-pool and thin constructors refuse with the kernel reasons', async () => {
    const lab = await poolWithThin();
    await lab.disk('meta2', 8192);
    await expect(lab.dm.create('p2', '0 2048 thin-pool meta2 data 128')).rejects.toThrow('Invalid argument count');
    await expect(lab.dm.create('p2', '0 2048 thin-pool data data 128 0')).rejects.toThrow(
      'Error setting metadata or data device',
    );
    await expect(lab.dm.create('p2', '0 2048 thin-pool meta2 data 100 0')).rejects.toThrow('Invalid block size');
    await expect(lab.dm.create('p2', '0 2048 thin-pool meta2 data 128 x')).rejects.toThrow('Invalid low water mark');
    await expect(lab.dm.create('p2', '0 2048 thin-pool meta2 data 128 0 1 bogus')).rejects.toThrow(
      'Unrecognised pool feature requested',
    );
    await expect(lab.dm.create('p2', '0 2048 thin-pool meta2 data 128 0 5 a b c d e')).rejects.toThrow(
      'Invalid number of pool feature arguments',
    );
    await expect(lab.dm.create('p2', '0 2048 thin-pool meta data 128 0')).rejects.toMatchObject({
      code: 'EBUSY',
      message: expect.stringContaining('metadata device already in use by a pool'),
    });
    await lab.disk('data2', 2048);
    await lab.dm.create('p3', '0 2048 thin-pool meta2 data2 256 0 1 IGNORE_DISCARD');
    expect(await lab.table('p3')).toBe('meta2 data2 256 0 1 ignore_discard ');
    expect(await lab.status('p3')).toBe('0 111/1024 0/8 - rw ignore_discard queue_if_no_space - 256 ');
    await expect(lab.dm.create('t', '0 8 thin /dev/mapper/pool')).rejects.toThrow('Invalid argument count');
    await expect(lab.dm.create('t', '0 8 thin /dev/mapper/pool 0 /dev/mapper/pool')).rejects.toThrow(
      'Error setting origin device',
    );
    await expect(lab.dm.create('t', '0 8 thin /dev/mapper/pool 16777216')).rejects.toThrow('Invalid device id');
    await expect(lab.dm.create('t', '0 8 thin data 0')).rejects.toThrow("Couldn't get pool mapped device");
    await expect(lab.dm.create('t', '0 8 thin /dev/mapper/thin0 0')).rejects.toThrow("Couldn't find pool object");
    await expect(lab.dm.create('t', '0 8 thin /dev/mapper/pool 9')).rejects.toMatchObject({
      code: 'ENODATA',
      message: expect.stringContaining("Couldn't open thin internal device"),
    });
    await lab.dm.suspend('pool');
    await expect(lab.dm.create('t', '0 8 thin /dev/mapper/pool 0')).rejects.toThrow(
      'Unable to activate thin device while pool is suspended',
    );
    await lab.dm.resume('pool');
    // Shrinking the pool is refused at resume; the pool stays suspended with the new table.
    await lab.dm.suspend('pool');
    await lab.dm.load('pool', `0 ${128 * S} thin-pool meta data 128 16`);
    await expect(lab.dm.resume('pool')).rejects.toThrow('pool target (128 blocks) too small: expected 256');
  });

  test('messages are refused with the errno and words 6.1 uses (thin.md §3)', async () => {
    const lab = await poolWithThin();
    const msg = (...w: string[]): Promise<string> => lab.dm.message('pool', 0, w);
    await msg('set_transaction_id', '0', '1');
    await expect(msg('set_transaction_id', '0', '2')).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('mismatched transaction id'),
    });
    await expect(msg('set_transaction_id', '1', 'x')).rejects.toThrow(
      'set_transaction_id message: Unrecognised new id x.',
    );
    await msg('reserve_metadata_snap');
    expect(await lab.status('pool')).toMatch(/^1 \d+\/1024 0\/256 \d+ rw /);
    await expect(msg('reserve_metadata_snap')).rejects.toMatchObject({ code: 'EBUSY' });
    await msg('release_metadata_snap');
    expect(await lab.status('pool')).toMatch(/^1 \d+\/1024 0\/256 - rw /);
    await expect(msg('release_metadata_snap')).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('nothing to release'),
    });
    await expect(msg('create_thin', '0')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(msg('create_thin', '16777216')).rejects.toThrow('Message received with invalid device id: 16777216');
    await msg('CREATE_THIN', '16777215');
    await expect(msg('create_thin')).rejects.toThrow('Message received with 1 arguments instead of 2.');
    await expect(msg('create_snap', '2', '7')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(msg('delete', '0')).rejects.toMatchObject({ code: 'EBUSY' });
    await expect(msg('delete', '5')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(msg('foo', '1')).rejects.toThrow('Unrecognised thin pool target message received: foo');
    await lab.dm.remove('thin0');
    await msg('delete', '0');
    await lab.dm.remove('pool');
    if (hasThinTools) expect(thinCheck(await imageOf(lab.disks.get('meta')!)).status).toBe(0);
  });
});

describe('the waker', () => {
  test('commits a changed pool once a second has passed since the last commit, and not an unchanged one', async () => {
    const clock = new ManualClock();
    const lab = new Lab({ clock });
    await lab.disk('meta', 8192);
    await lab.disk('data', 256 * S);
    await lab.dm.create('pool', `0 ${256 * S} thin-pool meta data 128 16`);
    await lab.dm.message('pool', 0, ['create_thin', '0']);
    await lab.dm.create('thin0', '0 32768 thin /dev/mapper/pool 0');
    const commits = (): number => lab.events.filter((e) => e.type === 'thin.pool.commit').length;
    const nextCommit = (): Promise<void> =>
      new Promise((resolve) => {
        const off = lab.bus.on((e) => {
          if (e.type === 'thin.pool.commit') {
            off();
            resolve();
          }
        });
      });
    const before = commits();
    clock.advance(1000);
    await lab.read('thin0', 0, 1);
    expect(commits()).toBe(before);
    await lab.write('thin0', 0, pat('periodic', B));
    const committed = nextCommit();
    clock.advance(1000);
    await committed;
    expect(commits()).toBe(before + 1);
  });
});
