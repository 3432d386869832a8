// delay on a ManualClock: which triple each bio uses, when it is released, the queued counters in status,
// and presuspend releasing everything (as io.out shows: "1 0 0" while a read waits, "0 0 0" after suspend).

import { describe, expect, it } from 'vitest';
import { readFixture } from '../dm/kernel-fixtures.js';
import { filled, settle, setup } from './helpers.js';

const status = async (dm: ReturnType<typeof setup>['dm'], name: string) => (await dm.status(name))[0]!.params;

describe('delay', () => {
  it('holds a read for the read delay, counting it as queued meanwhile', async () => {
    const { clock, dm, devs } = setup();
    await devs['/dev/a']!.write(10, filled(1, 3));
    await dm.create('d', '0 64 delay /dev/a 10 100');
    const dev = await dm.open('d');
    const buf = filled(1, 0);
    let done = false;
    const reading = dev.read(0, buf).then(() => (done = true));
    await settle();
    expect(await status(dm, 'd')).toBe('1 0 0');
    expect(readFixture('io.out')).toContain('$ dmsetup status dl\n0 64 delay 1 0 0');
    clock.advance(99);
    await settle();
    expect(done).toBe(false);
    clock.advance(1);
    await reading;
    expect(buf[0]).toBe(3);
    expect(await status(dm, 'd')).toBe('0 0 0');
    await dev.close();
  });

  it('with 6 arguments sends writes to the write device at its offset after the write delay; 0 ms passes at once', async () => {
    const { clock, dm, devs } = setup({ '/dev/a': 256, '/dev/b': 256 });
    await dm.create('d', '0 64 delay /dev/a 0 0 /dev/b 8 5');
    const dev = await dm.open('d');
    await dev.read(0, filled(1, 0)); // 0 ms: no clock needed
    const writing = dev.write(2, filled(1, 9));
    await settle();
    expect(await status(dm, 'd')).toBe('0 1 0');
    clock.advance(5);
    await writing;
    const back = filled(1, 0);
    await devs['/dev/b']!.read(10, back);
    expect(back[0]).toBe(9);
    await devs['/dev/a']!.read(2, back);
    expect(back[0]).toBe(0);
    await dev.close();
  });

  it('with 9 arguments a flush uses the flush triple; with 3 every class uses the read triple', async () => {
    const { clock, dm, devs } = setup({ '/dev/a': 256, '/dev/b': 256, '/dev/c': 256 });
    await dm.create('d9', '0 64 delay /dev/a 0 1 /dev/b 0 2 /dev/c 0 3');
    const d9 = await dm.open('d9');
    const flushing = d9.flush();
    await settle();
    expect(await status(dm, 'd9')).toBe('0 0 1');
    clock.advance(3);
    await flushing;
    expect([devs['/dev/a']!.flushes, devs['/dev/b']!.flushes, devs['/dev/c']!.flushes]).toEqual([0, 0, 1]);
    await dm.create('d3', '0 64 delay /dev/a 0 7');
    const d3 = await dm.open('d3');
    const w = d3.write(0, filled(1, 1));
    const f = d3.flush();
    await settle();
    // 6.1 keeps a counter per class even when the classes share the read triple (direct-io.out: "0 1 0" for a write).
    expect(readFixture('direct-io.out')).toContain(
      '## table: 0 64 delay /dev/vda 0 2000\n$ dmsetup status d\n0 64 delay 0 1 0',
    );
    expect(await status(dm, 'd3')).toBe('0 1 1');
    clock.advance(7);
    await Promise.all([w, f]);
    expect(devs['/dev/a']!.flushes).toBe(1);
    await d9.close();
    await d3.close();
  });

  it('suspend releases every queued bio at once and resume delays again', async () => {
    const { clock, dm } = setup();
    await dm.create('d', '0 64 delay /dev/a 0 3000');
    const dev = await dm.open('d');
    const reading = dev.read(0, filled(1, 0));
    await settle();
    expect(await status(dm, 'd')).toBe('1 0 0');
    await dm.suspend('d');
    await reading;
    expect(await status(dm, 'd')).toBe('0 0 0');
    expect(readFixture('io.out')).toMatch(/\$ dmsetup suspend dl\nrc: 0\n\$ dmsetup status dl\n0 64 delay 0 0 0/);
    await dm.resume('d');
    const again = dev.read(0, filled(1, 0));
    await settle();
    expect(await status(dm, 'd')).toBe('1 0 0');
    clock.advance(3000);
    await again;
    await dev.close();
  });

  it('removing the device releases what is queued', async () => {
    const { dm } = setup();
    await dm.create('d', '0 64 delay /dev/a 0 3000');
    const dev = await dm.open('d');
    const reading = dev.read(0, filled(1, 0));
    await settle();
    await dev.close();
    await dm.remove('d');
    await expect(reading).resolves.toBeUndefined();
  });
});
