// flakey on a ManualClock: up/down intervals against a model, and each 6.1 feature while down, checked against
// what the kernel did in fixtures/kernel/helpers/io.out.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFixture } from '../dm/kernel-fixtures.js';
import { filled, outcome, setup } from './helpers.js';

/** The first od line printed after `label` in io.out, as bytes. */
function kernelBytes(label: string): number[] {
  const lines = readFixture('io.out').split('\n');
  const at = lines.findIndex((l) => l.startsWith(label));
  const od = lines.slice(at + 1).find((l) => /^\d{7} /.test(l))!;
  return od
    .split(' ')
    .slice(1)
    .map((h) => parseInt(h, 16));
}

describe('flakey intervals', () => {
  it('is down when whole seconds since load mod (up + down) >= up (model, random intervals and times)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 1, maxLength: 8 }),
        async (up, down, steps) => {
          fc.pre(up + down > 0);
          const { clock, dm } = setup();
          await dm.create('f', `0 64 flakey /dev/a 0 ${up} ${down}`);
          const dev = await dm.open('f');
          let elapsed = 0;
          for (const ms of steps) {
            clock.advance(ms);
            elapsed += ms;
            const down_ = Math.floor(elapsed / 1000) % (up + down) >= up;
            expect(await outcome(dev.read(0, filled(1, 0))), `t=${elapsed}`).toBe(down_ ? 'EIO' : 'ok');
            expect(await outcome(dev.write(1, filled(1, 1)))).toBe(down_ ? 'EIO' : 'ok');
          }
          await dev.close();
          await dm.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('counts from table load, not from resume (io.out: up 1 down 1 reads at once, fails after 1.2 s)', async () => {
    const { clock, dm } = setup();
    await dm.create('f', '0 64 zero');
    clock.advance(5000);
    await dm.load('f', '0 64 flakey /dev/a 0 1 1');
    clock.advance(900);
    await dm.resume('f');
    const dev = await dm.open('f');
    expect(await outcome(dev.read(0, filled(1, 0)))).toBe('ok');
    clock.advance(300); // 1.2 s after load
    expect(await outcome(dev.read(0, filled(1, 0)))).toBe('EIO');
    expect(readFixture('io.out')).toMatch(
      /read f5 at once:\nrc: 0[\s\S]*read f5 after 1.2 s:\ndd: \/dev\/mapper\/f5: Input\/output error\nrc: 1/,
    );
    await dev.close();
    await dm.close();
  });
});

describe('flakey features while down (up 0, down 1)', () => {
  async function downDevice(features: string) {
    const env = setup();
    await env.devs['/dev/a']!.write(0, filled(64, 0xaa));
    await env.dm.create('f', `0 64 flakey /dev/a 0 0 1 ${features}`.trim());
    return { ...env, dev: await env.dm.open('f') };
  }

  it('no features: reads and writes fail', async () => {
    const { dev, devs } = await downDevice('');
    expect(await outcome(dev.read(0, filled(1, 0)))).toBe('EIO');
    expect(await outcome(dev.write(0, filled(8, 1)))).toBe('EIO');
    expect(await outcome(dev.flush())).toBe('EIO');
    const back = filled(1, 0);
    await devs['/dev/a']!.read(0, back);
    expect(back[0]).toBe(0xaa);
  });

  it('drop_writes: reads pass, writes succeed without reaching the device', async () => {
    const { dev, devs } = await downDevice('1 drop_writes');
    const r = filled(1, 0);
    await dev.read(0, r);
    expect([...r.subarray(0, 16)]).toEqual(kernelBytes('read f1:'));
    expect(await outcome(dev.write(0, filled(1, 1)))).toBe('ok');
    const back = filled(1, 0);
    await devs['/dev/a']!.read(0, back);
    expect([...back.subarray(0, 16)]).toEqual(kernelBytes('vda sector 0 after:'));
  });

  it('error_writes: reads pass, writes fail and leave the device unchanged', async () => {
    const { dev, devs } = await downDevice('1 error_writes');
    expect(await outcome(dev.read(0, filled(1, 0)))).toBe('ok');
    expect(await outcome(dev.write(24, filled(8, 1)))).toBe('EIO');
    expect(readFixture('io.out')).toContain(
      "write f2 (0x01 at sectors 24..31):\ndd: error writing '/dev/mapper/f2': Input/output error\nrc: 1",
    );
    const back = filled(1, 0);
    await devs['/dev/a']!.read(24, back);
    expect([...back.subarray(0, 16)]).toEqual(kernelBytes('vda sector 24 after:'));
  });

  it('corrupt_bio_byte ... r corrupts nothing on 6.1, and writes pass', async () => {
    const { dev, devs } = await downDevice('5 corrupt_bio_byte 3 r 17 0');
    const r = filled(2, 0);
    await dev.read(0, r);
    expect([...r.subarray(0, 16)]).toEqual(kernelBytes('read f3 (2 sectors):'));
    await dev.write(8, filled(1, 2));
    const back = filled(1, 0);
    await devs['/dev/a']!.read(8, back);
    expect([...back.subarray(0, 16)]).toEqual(kernelBytes('vda sector 8 after:'));
  });

  it('corrupt_bio_byte 2 w 51: the device gets byte 2 replaced, the writer keeps its data', async () => {
    const { dev, devs } = await downDevice('5 corrupt_bio_byte 2 w 51 0');
    const data = filled(1, 4);
    await dev.write(16, data);
    expect(data[1]).toBe(4);
    const back = filled(1, 0);
    await devs['/dev/a']!.read(16, back);
    expect([...back.subarray(0, 16)]).toEqual(kernelBytes('vda sector 16 after:'));
    const r = filled(1, 0);
    await dev.read(16, r);
    expect([...r.subarray(0, 16)]).toEqual(kernelBytes('read f4:'));
  });

  it('corrupt_bio_byte only touches writes whose flags include the mask (REQ_FUA = 1<<17), and bios long enough', async () => {
    const { dev, devs } = await downDevice(`5 corrupt_bio_byte 600 w 9 ${1 << 17}`);
    await dev.write(0, filled(2, 1));
    await dev.submit({ op: 'write', sector: 2, count: 2, buf: filled(2, 1), fua: true });
    await dev.submit({ op: 'write', sector: 4, count: 1, buf: filled(1, 1), fua: true });
    const back = filled(5, 0);
    await devs['/dev/a']!.read(0, back);
    expect([back[599], back[1024 + 599], back[2048 + 511]]).toEqual([1, 9, 1]);
  });

  it('while up it is a linear mapping at the offset', async () => {
    const { clock, dm, devs } = setup();
    await dm.create('f', '0 16 flakey /dev/a 100 10 1 1 error_writes');
    const dev = await dm.open('f');
    await dev.write(3, filled(1, 7));
    const back = filled(1, 0);
    await devs['/dev/a']!.read(103, back);
    expect(back[0]).toBe(7);
    clock.advance(10_000);
    expect(await outcome(dev.write(3, filled(1, 8)))).toBe('EIO');
    await dev.close();
  });
});
