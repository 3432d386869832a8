// MappedDevice through DeviceMapper: splitting and remapping against a model, held I/O while suspended,
// suspend waiting for in-flight I/O, hook order, table swap, events and wait, stacking, request checks.

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DmEvent, EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { readFixture } from './kernel-fixtures.js';
import { ProbeLog, probeTargetType, settle } from './probe-target.js';

let bus: EventBus;
let events: DmEvent[];
let log: ProbeLog;
let dm: DeviceMapper;

beforeEach(() => {
  bus = new EventBus();
  events = [];
  bus.on((e) => events.push(e));
  log = new ProbeLog();
  dm = new DeviceMapper({ bus });
  dm.registry.register(probeTargetType(log));
});
afterEach(async () => {
  log.gated = false;
  for (const r of log.records) r.complete();
  await dm.close();
});

describe('splitting and remapping', () => {
  // A table of probe targets with random lengths and max_io_len, and a random request inside it.
  const layout = fc
    .array(fc.record({ len: fc.integer({ min: 1, max: 64 }), max: fc.constantFrom(0, 1, 3, 8, 16) }), {
      minLength: 1,
      maxLength: 6,
    })
    .chain((targets) => {
      const size = targets.reduce((s, t) => s + t.len, 0);
      return fc
        .record({
          targets: fc.constant(targets),
          sector: fc.integer({ min: 0, max: size - 1 }),
          count: fc.integer({ min: 1, max: size }),
        })
        .map((r) => ({ ...r, count: Math.min(r.count, size - r.sector) }));
    });

  it('gives each target the sectors a per-sector model says, relative to the target, never crossing max_io_len', async () => {
    await fc.assert(
      fc.asyncProperty(layout, async ({ targets, sector, count }) => {
        log.records.length = 0;
        const begins = targets.map((_, i) => targets.slice(0, i).reduce((sum, t) => sum + t.len, 0));
        const lines = targets.map((t, i) => `${begins[i]} ${t.len} probe ${t.max}`);
        await dm.create('p', lines.join('\n'));
        const dev = await dm.open('p');
        const buf = Buffer.alloc(count * 512);
        for (let i = 0; i < count; i++) buf.fill(i & 0xff, i * 512, i * 512 + 512);
        await dev.write(sector, buf);
        // Model: sector s belongs to the target whose range holds it, at offset s - begin.
        const starts = targets.map((_, i) => targets.slice(0, i).reduce((s, t) => s + t.len, 0));
        const expected: string[] = [];
        for (let s = sector; s < sector + count; s++) {
          const i = starts.filter((b) => b <= s).length - 1;
          expected.push(`${starts[i]}:${s - starts[i]!}:${(s - sector) & 0xff}`);
        }
        const got: string[] = [];
        for (const r of log.records) {
          const t = targets[starts.indexOf(r.begin)]!;
          if (t.max > 0)
            expect(Math.floor(r.bio.sector / t.max)).toBe(Math.floor((r.bio.sector + r.bio.count - 1) / t.max));
          for (let k = 0; k < r.bio.count; k++) got.push(`${r.begin}:${r.bio.sector + k}:${r.bio.buf![k * 512]}`);
        }
        expect(got).toEqual(expected);
        // Pieces are as large as the boundaries allow: one per target and max_io_len window touched.
        const windows = new Set(
          expected.map((e) => {
            const [b, rel] = e.split(':').map(Number) as [number, number];
            const max = targets[starts.indexOf(b)]!.max;
            return `${b}/${max > 0 ? Math.floor(rel / max) : 0}`;
          }),
        );
        expect(log.records.length).toBe(windows.size);
        await dev.close();
        await dm.remove('p');
      }),
      { numRuns: 150 },
    );
  });

  it('reads fill the caller buffer in place through the split', async () => {
    const mem = new MemoryDevice('m', 64);
    dm.addBackingDevice('m', mem);
    await mem.write(0, Buffer.alloc(64 * 512, 0x5a));
    await dm.create('l', '0 10 linear m 20\n10 10 zero\n20 10 linear m 0');
    const dev = await dm.open('l');
    const buf = Buffer.alloc(30 * 512, 1);
    await dev.read(0, buf);
    expect([buf[0], buf[10 * 512], buf[20 * 512], buf[30 * 512 - 1]]).toEqual([0x5a, 0, 0x5a, 0x5a]);
    await dev.close();
  });

  it('sends a flush to every target, and a PREFLUSH write as a flush then the write', async () => {
    await dm.create('p', '0 8 probe 0\n8 8 probe 0');
    const dev = await dm.open('p');
    await dev.flush();
    expect(log.records.map((r) => [r.begin, r.bio.op, r.bio.count])).toEqual([
      [0, 'flush', 0],
      [8, 'flush', 0],
    ]);
    log.records.length = 0;
    await dev.submit({ op: 'write', sector: 6, count: 4, buf: Buffer.alloc(2048), preflush: true, fua: true });
    expect(log.records.map((r) => [r.begin, r.bio.op, r.bio.sector, r.bio.count, r.bio.fua ?? false])).toEqual([
      [0, 'flush', 0, 0, false],
      [8, 'flush', 0, 0, false],
      [0, 'write', 6, 2, true],
      [8, 'write', 0, 2, true],
    ]);
    await dev.close();
  });
});

describe('request checks', () => {
  it('fails out-of-range and misaligned requests with EIO naming the device and sector, and reports io.error', async () => {
    await dm.create('z', '0 16 zero');
    const dev = await dm.open('z');
    await expect(dev.read(16, Buffer.alloc(512))).rejects.toMatchObject({
      code: 'EIO',
      message: expect.stringMatching(/^z: read of 1 sectors at sector 16 failed: beyond the end/),
    });
    await expect(dev.read(15, Buffer.alloc(1024))).rejects.toMatchObject({
      code: 'EIO',
      message: expect.stringContaining('sector 15'),
    });
    await expect(dev.write(0, Buffer.alloc(100))).rejects.toMatchObject({
      code: 'EIO',
      message: expect.stringContaining('not a multiple of 512'),
    });
    await expect(dev.read(-1, Buffer.alloc(512))).rejects.toMatchObject({ code: 'EIO' });
    expect(events.filter((e) => e.type === 'io.error').map((e) => (e as { sector: number }).sector)).toEqual([
      16, 15, 0, -1,
    ]);
    await dev.close();
  });

  it('fails a request spanning linear and error as a whole, with an io.error for the failed piece', async () => {
    const mem = new MemoryDevice('m', 64);
    dm.addBackingDevice('m', mem);
    await dm.create('sp', '0 8 linear m 0\n8 8 error');
    const dev = await dm.open('sp');
    await expect(dev.read(7, Buffer.alloc(1024))).rejects.toMatchObject({
      code: 'EIO',
      message: expect.stringMatching(/^sp: read of 2 sectors at sector 7 failed/),
    });
    await expect(dev.write(6, Buffer.alloc(1024))).resolves.toBeUndefined();
    // 6.1 with direct I/O: "dd: /dev/mapper/sp: Input/output error", 0 bytes read.
    expect(readFixture('direct-io.out')).toMatch(
      /bs=8192 count=1 iflag=direct status=none\ndd: \/dev\/mapper\/sp: Input\/output error\nrc: 1\n\$ wc -c \/tmp\/out\n0 /,
    );
    const errs = events.filter((e) => e.type === 'io.error');
    expect(errs).toEqual([expect.objectContaining({ device: 'sp', op: 'read', sector: 8, count: 1, code: 'EIO' })]);
    await dev.close();
  });

  it('refuses writes to a read-only device and I/O to a device without a table', async () => {
    await dm.create('ro', '0 8 zero', { readOnly: true });
    const ro = await dm.open('ro');
    await expect(ro.write(0, Buffer.alloc(512))).rejects.toMatchObject({ code: 'EPERM' });
    await expect(ro.read(0, Buffer.alloc(512))).resolves.toBeUndefined();
    await dm.create('none', '', { notable: true });
    const none = await dm.open('none');
    await expect(none.read(0, Buffer.alloc(512))).rejects.toMatchObject({
      code: 'EIO',
      message: expect.stringContaining('no live table'),
    });
    await ro.close();
    await none.close();
  });
});

describe('suspend and resume', () => {
  it('suspend waits for in-flight I/O, holds new I/O until resume, and runs the hooks in order', async () => {
    await dm.create('p', '0 16 probe 0');
    const dev = await dm.open('p');
    log.gated = true;
    log.hooks.length = 0;
    const first = dev.read(0, Buffer.alloc(512));
    await settle();
    let suspended = false;
    const suspending = dm.suspend('p').then(() => (suspended = true));
    await settle();
    expect(suspended).toBe(false); // the read is still in flight
    expect(log.hooks).toEqual(['presuspend p@0']);
    log.records[0]!.complete();
    await first;
    await suspending;
    expect(log.hooks).toEqual(['presuspend p@0', 'postsuspend p@0']);
    expect((await dm.info('p'))[0]!.state).toBe('SUSPENDED');
    let secondDone = false;
    const second = dev.read(1, Buffer.alloc(512)).then(() => (secondDone = true));
    await settle();
    expect(log.records.length).toBe(1); // held, not mapped
    await dm.resume('p');
    await settle();
    expect(log.hooks.slice(2)).toEqual(['preresume p@0', 'resume p@0']);
    expect(log.records.length).toBe(2);
    log.records[1]!.complete();
    await second;
    expect(secondDone).toBe(true);
    await dev.close();
  });

  it('passes noflush to presuspend; suspending twice is harmless', async () => {
    await dm.create('p', '0 8 probe 0');
    log.hooks.length = 0;
    await dm.suspend('p', { noflush: true });
    await dm.suspend('p');
    expect(log.hooks).toEqual(['presuspend p@0 noflush', 'postsuspend p@0']);
    await dm.resume('p');
  });

  it('resume swaps the inactive table in, then destroys the old one; held I/O goes to the new table', async () => {
    await dm.create('p', '0 8 probe 0');
    await dm.load('p', '0 32 probe 4');
    expect((await dm.info('p'))[0]!.tablesPresent).toBe('LIVE & INACTIVE');
    await dm.suspend('p');
    const dev = await dm.open('p');
    const held = dev.read(20, Buffer.alloc(512)); // beyond the old table's end, inside the new one
    log.hooks.length = 0;
    await dm.resume('p');
    await held;
    expect(log.hooks).toEqual(['preresume p@0', 'resume p@0', 'destroy p@0']);
    expect(await dm.table('p')).toEqual([{ name: 'p', start: 0, length: 32, target: 'probe', params: '4' }]);
    expect(events.filter((e) => e.type.startsWith('dm.') && e.type !== 'dm.io').map((e) => e.type)).toEqual([
      'dm.created',
      'dm.loaded',
      'dm.table_swapped',
      'dm.resumed',
      'dm.loaded',
      'dm.suspended',
      'dm.table_swapped',
      'dm.resumed',
    ]);
    await dev.close();
  });

  it('a refused preresume leaves the device suspended with the new table live', async () => {
    await dm.create('p', '0 8 probe 0');
    await dm.load('p', '0 8 probe 0 fail-preresume');
    await expect(dm.resume('p')).rejects.toThrow(/preresume refused/);
    const info = (await dm.info('p'))[0]!;
    expect([info.state, info.tablesPresent]).toEqual(['SUSPENDED', 'LIVE']);
    expect((await dm.table('p'))[0]!.params).toBe('0 fail-preresume');
  });

  it('a first table whose preresume fails leaves the device suspended too; create removes such a device', async () => {
    await dm.create('n', '', { notable: true });
    await dm.load('n', '0 8 probe 0 fail-preresume');
    await expect(dm.resume('n')).rejects.toThrow(/preresume refused/);
    expect((await dm.info('n'))[0]!.state).toBe('SUSPENDED');
    await expect(dm.create('c', '0 8 probe 0 fail-preresume')).rejects.toThrow(/preresume refused/);
    expect(dm.ls().map((d) => d.name)).toEqual(['n']);
  });
});

describe('events and wait', () => {
  it('wait resolves when the event counter moves past the number given', async () => {
    await dm.create('p', '0 8 probe 0');
    expect(await dm.wait('p', 5)).toBe(0); // already different: at once
    let woke: number | undefined;
    const waiting = dm.wait('p').then((n) => (woke = n));
    await settle();
    expect(woke).toBeUndefined();
    expect(await dm.message('p', 3, ['event'])).toBe('event');
    await waiting;
    expect(woke).toBe(1);
    expect((await dm.info('p'))[0]!.eventNr).toBe(1);
    expect(events.filter((e) => e.type === 'dm.event')).toEqual([expect.objectContaining({ device: 'p', eventNr: 1 })]);
  });

  it('a wait on a device that is removed fails with ENXIO', async () => {
    await dm.create('p', '0 8 probe 0');
    const waiting = dm.wait('p', 0);
    await dm.remove('p');
    await expect(waiting).rejects.toMatchObject({ code: 'ENXIO' });
  });

  it('message refuses a sector outside the device and an empty message', async () => {
    await dm.create('p', '0 8 probe 0');
    await expect(dm.message('p', 8, ['x'])).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('outside device'),
    });
    await expect(dm.message('p', 0, [])).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('stacking and remove', () => {
  it('linear over linear over a MemoryDevice lands bytes where the offsets say', async () => {
    const mem = new MemoryDevice('/dev/m', 4096);
    dm.addBackingDevice('/dev/m', mem);
    await dm.create('low', '0 2048 linear /dev/m 1000');
    await dm.create('mid', '0 1024 linear /dev/mapper/low 500');
    await dm.create('top', '0 100 zero\n100 500 linear /dev/mapper/mid 7');
    const top = await dm.open('top');
    const data = Buffer.alloc(3 * 512);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    await top.write(150, data);
    const back = Buffer.alloc(data.length);
    await mem.read(1000 + 500 + 7 + (150 - 100), back);
    expect(back.equals(data)).toBe(true);
    expect((await dm.info('low'))[0]!.openCount).toBe(1);
    await expect(dm.remove('mid')).rejects.toMatchObject({
      code: 'EBUSY',
      message: expect.stringContaining('used by the table of top'),
    });
    await top.close();
    await dm.remove('top');
    await dm.remove('mid');
    expect((await dm.info('low'))[0]!.openCount).toBe(0);
    await dm.remove('low');
  });

  it('a table may name a mapped device by 253:MINOR', async () => {
    await dm.create('a', '0 8 zero');
    await dm.create('b', '0 8 linear 253:0 0');
    expect(await dm.table('b')).toEqual([{ name: 'b', start: 0, length: 8, target: 'linear', params: '253:0 0' }]);
    expect((await dm.info('a'))[0]!.openCount).toBe(1);
  });

  it('remove_all brings a stack down top first and reports what is still open', async () => {
    await dm.create('a', '0 8 zero');
    await dm.create('b', '0 8 linear /dev/mapper/a 0');
    await dm.create('c', '0 8 zero');
    const c = await dm.open('c');
    await expect(dm.removeAll()).rejects.toMatchObject({
      code: 'EBUSY',
      message: expect.stringContaining('c (open count 1'),
    });
    expect(dm.ls().map((d) => d.name)).toEqual(['c']);
    await c.close();
    await dm.removeAll();
    expect(dm.ls()).toEqual([]);
  });

  it('remove_all --force gives busy devices error tables, which frees the devices under them', async () => {
    await dm.create('low', '0 8 zero');
    await dm.create('top', '0 8 linear /dev/mapper/low 0');
    const top = await dm.open('top');
    await expect(dm.removeAll({ force: true })).rejects.toMatchObject({
      code: 'EBUSY',
      message: expect.stringMatching(/^remove_all left 1 open device\(s\): top/),
    });
    expect(dm.ls().map((d) => d.name)).toEqual(['top']);
    expect(await dm.table('top')).toEqual([{ name: 'top', start: 0, length: 8, target: 'error', params: '' }]);
    await expect(top.read(0, Buffer.alloc(512))).rejects.toMatchObject({ code: 'EIO' });
    await top.close();
  });

  it('minors are reused lowest first, as the kernel hands them out', async () => {
    await dm.create('a', '0 8 zero');
    await dm.create('b', '0 8 zero');
    await dm.remove('a');
    await dm.create('c', '0 8 zero');
    expect(dm.ls()).toEqual([
      { name: 'b', major: 253, minor: 1 },
      { name: 'c', major: 253, minor: 0 },
    ]);
    const lifecycle = events.filter((e) => e.type === 'dm.created' || e.type === 'dm.removed');
    expect(
      lifecycle.map((e) => `${e.type} ${(e as { device: string }).device} ${(e as { minor: number }).minor}`),
    ).toEqual(['dm.created a 0', 'dm.created b 1', 'dm.removed a 0', 'dm.created c 0']);
  });

  it('refuses bad names', async () => {
    await expect(dm.create('', '0 8 zero')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(dm.create('a/b', '0 8 zero')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(dm.create('x'.repeat(128), '0 8 zero')).rejects.toMatchObject({ code: 'EINVAL' });
    await dm.create('u1', '0 8 zero', { uuid: 'U' });
    await expect(dm.create('u2', '0 8 zero', { uuid: 'U' })).rejects.toMatchObject({ code: 'EBUSY' });
  });
});
