// Flushes and the write cache, as Linux 6.1's block layer handles them (submit_bio_noacct; dm's
// dm_table_supports_flush): a device without a volatile write cache completes an empty flush without passing
// it down and drops PREFLUSH/FUA from writes; a dm device inherits a write cache from the devices under it.
// Kernel evidence: fixtures/mirror/write-cache.out (an empty fsync of a flakey error_writes device succeeds on
// the oracle's write-through disks and fails once they are switched to write back).

import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { CountingDevice } from './helpers.js';

const N = 1024;
const DOWN = `0 ${N} flakey /dev/a 0 0 86400 1 error_writes`;
const UP = `0 ${N} flakey /dev/a 0 86400 0`;

function machine(writeCache: boolean): { dm: DeviceMapper; disk: CountingDevice } {
  const dm = new DeviceMapper({ bus: new EventBus() });
  const disk = new CountingDevice('/dev/a', N, { writeCache });
  dm.addBackingDevice('/dev/a', disk);
  return { dm, disk };
}

const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    () => 'EIO',
  );

describe('flushes over disks with and without a write cache', () => {
  it('write-through disk: an empty flush never reaches flakey (succeeds while it is down) nor the disk', async () => {
    const { dm, disk } = machine(false);
    await dm.create('f', DOWN);
    const d = await dm.open('f');
    expect(d.writeCache).toBe(false);
    expect(await outcome(d.flush())).toBe('ok');
    // error_writes still fails the data of a write, PREFLUSH or not.
    expect(await outcome(d.submit({ op: 'write', sector: 0, count: 1, buf: Buffer.alloc(512), preflush: true }))).toBe(
      'EIO',
    );
    await d.close();
    expect(disk.flushes).toBe(0);
  });

  it('write-back disk: flakey gets the empty flush and error_writes fails it', async () => {
    const { dm, disk } = machine(true);
    await dm.create('f', DOWN);
    const d = await dm.open('f');
    expect(d.writeCache).toBe(true);
    expect(await outcome(d.flush())).toBe('EIO');
    await d.close();
    expect(disk.flushes).toBe(0);
  });

  it('PREFLUSH and FUA reach the disk only when it has a write cache; the data is written either way', async () => {
    for (const wc of [false, true]) {
      const { dm, disk } = machine(wc);
      await dm.create('f', UP);
      const d = await dm.open('f');
      await d.submit({ op: 'write', sector: 8, count: 1, buf: Buffer.alloc(512, 7), preflush: true, fua: true });
      await d.flush();
      await d.close();
      const back = Buffer.alloc(512);
      await disk.read(8, back);
      expect(back[0]).toBe(7);
      expect(disk.flushes > 0).toBe(wc);
    }
  });
});
