// A pool whose metadata device fills up (thin.md §5, job 6): the metadata low-water event, then a failed
// metadata operation aborts the transaction, sets needs_check and leaves the pool read-only; writes that need
// a block fail with EIO and the metadata stays valid for thin_check.

import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';
import { Lab } from '../snapshot/support/dm.js';
import { hasThinTools, imageOf, thinCheck } from './thin-tools.js';

describe('running out of metadata space', () => {
  test('ends read-only with needs_check set on disk, and metadata thin_check accepts', async () => {
    const lab = new Lab({ clock: new ManualClock() });
    // 32 metadata blocks (reserve 3, low water min(1024, 32/4) = 8); 16384 data blocks of 64 KiB, sparse.
    const meta = await lab.disk('meta', 256);
    await lab.disk('data', 16384 * 128);
    await lab.dm.create('pool', `0 ${16384 * 128} thin-pool meta data 128 0 1 skip_block_zeroing`);
    await lab.dm.message('pool', 0, ['create_thin', '0']);
    await lab.dm.create('thin0', `0 ${16384 * 128} thin /dev/mapper/pool 0`);
    const dev = await lab.dm.open('thin0');
    const page = Buffer.alloc(4096, 'x');
    let failed: unknown;
    let written = 0;
    for (let b = 0; b < 16384 && !failed; b++) {
      try {
        await dev.write(b * 128, page);
        written++;
      } catch (e) {
        failed = e;
      }
    }
    await dev.close();
    expect(failed).toMatchObject({ code: 'EIO' });
    expect(written).toBeGreaterThan(1000);
    const lowWater = lab.events.filter((e) => e.type === 'thin.pool.low_water');
    expect(lowWater.map((e) => (e as { space: string }).space)).toContain('metadata');
    const status = await lab.status('pool');
    expect(status).toMatch(/^0 \d+\/32 \d+\/16384 - ro discard_passdown queue_if_no_space needs_check 8 $/);
    await expect(lab.dm.message('pool', 0, ['create_thin', '1'])).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    // Writes into blocks it already owns still work.
    await lab.write('thin0', 0, Buffer.alloc(4096, 'y'));
    expect((await lab.read('thin0', 0, 1)).subarray(0, 1).toString()).toBe('y');
    await lab.dm.remove('thin0');
    await lab.dm.remove('pool');
    const sb = Buffer.alloc(512);
    await meta.read(0, sb);
    expect(sb.readUInt32LE(4)).toBe(1);
    if (hasThinTools) expect(thinCheck(await imageOf(meta)).status).toBe(0);
  }, 180_000);
});
