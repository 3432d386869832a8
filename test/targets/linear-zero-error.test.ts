// linear, zero and error: what each op does (dm-linear.c, dm-zero.c, dm-target.c io_err as in 6.1).

import { describe, expect, it } from 'vitest';
import { filled, outcome, setup } from './helpers.js';

describe('linear', () => {
  it('remaps reads, writes, discards and flushes to the device at the offset', async () => {
    const { dm, devs } = setup({ '/dev/a': 4096, '/dev/b': 4096 });
    const a = devs['/dev/a']!;
    // (A zero or error target here would take discards from the whole device: test/dm/discard-support.)
    await dm.create('l', '0 100 linear /dev/b 0\n100 50 linear /dev/a 1000');
    const dev = await dm.open('l');
    await dev.write(110, filled(2, 6));
    const back = filled(2, 0);
    await a.read(1010, back);
    expect(back.equals(filled(2, 6))).toBe(true);
    await dev.discard(110, 2);
    await a.read(1010, back);
    expect(back.equals(filled(2, 0))).toBe(true);
    await dev.flush();
    expect(a.flushes).toBe(1);
    await dev.close();
  });

  it('passes the device error on, naming the mapped device and the sector', async () => {
    const { dm, devs } = setup();
    await dm.create('l', '0 8 linear /dev/a 0');
    await devs['/dev/a']!.close();
    const dev = await dm.open('l');
    await expect(dev.read(3, filled(1, 0))).rejects.toThrow(/^l: read of 1 sectors at sector 3 failed: .*closed/);
    await dev.close();
  });
});

describe('zero', () => {
  it('reads zeros, drops writes, takes flushes, refuses discards', async () => {
    const { dm } = setup();
    await dm.create('z', '0 16 zero');
    const dev = await dm.open('z');
    expect(await outcome(dev.write(0, filled(1, 1)))).toBe('ok');
    const r = filled(1, 7);
    await dev.read(0, r);
    expect(r.equals(filled(1, 0))).toBe(true);
    expect(await outcome(dev.flush())).toBe('ok');
    expect(await outcome(dev.discard(0, 1))).toBe('EOPNOTSUPP');
    await dev.close();
  });
});

describe('error', () => {
  it('fails reads and writes with EIO; takes no discards (EOPNOTSUPP) and flushes never reach it', async () => {
    const { dm } = setup();
    await dm.create('e', '0 16 error');
    const dev = await dm.open('e');
    expect(await outcome(dev.read(0, filled(1, 0)))).toBe('EIO');
    expect(await outcome(dev.write(0, filled(1, 0)))).toBe('EIO');
    expect(await outcome(dev.discard(0, 1))).toBe('EOPNOTSUPP');
    expect(await outcome(dev.flush())).toBe('ok');
    await dev.close();
  });
});
