// Every table the 6.1 kernel refused or accepted in fixtures/kernel/helpers/refusals.out, replayed through
// DeviceMapper.create: the same tables are refused (with the kernel's reason and errno) and the accepted ones
// print the kernel's table line.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DmError } from '../../src/base/errors.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { refusalCases, translateDevices, VDA_SECTORS, VDB_SECTORS } from './kernel-fixtures.js';

const cases = refusalCases();

function formatLine(l: { start: number; length: number; target: string; params: string }): string {
  return `${l.start} ${l.length} ${l.target} ${l.params}`;
}

/** The kernel's inner reason and errno from the dmesg lines, with device names as dmsim prints them. */
function kernelReason(dmesg: string[]): { reason: string; code: string } | undefined {
  for (const line of dmesg) {
    const m = /^device-mapper: table: 253:\d+: (.*?)(?: \(-(E[A-Z]+)\))?$/.exec(line);
    if (m) return { reason: m[1]!.replace(/^(vd[ab]) too small/, '/dev/$1 too small'), code: m[2] ?? 'EINVAL' };
  }
  return undefined;
}

describe('tables against the kernel recordings', () => {
  let dm: DeviceMapper;
  beforeEach(() => {
    dm = new DeviceMapper({ bus: new EventBus() });
    dm.addBackingDevice('/dev/vda', new MemoryDevice('/dev/vda', VDA_SECTORS));
    dm.addBackingDevice('/dev/vdb', new MemoryDevice('/dev/vdb', VDB_SECTORS));
  });
  afterEach(() => dm.close());

  it('has the recorded cases', () => {
    expect(cases.length).toBeGreaterThan(70);
  });

  for (const c of cases.filter((c) => c.name !== 'reload-self-reference')) {
    it(`${c.name}: ${c.rc === 0 ? 'accepted' : 'refused'} as by 6.1`, async () => {
      if (c.name === 'self-reference') await dm.create('self', '0 100 zero');
      const attempt = dm.create('t', c.table);
      if (c.rc === 0) {
        await attempt;
        const lines = (await dm.table('t')).map(formatLine);
        const expected = c.result.filter((l) => l !== '').map((l) => translateDevices(l));
        expect(lines).toEqual(expected);
        return;
      }
      const err = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the kernel refused this table').toBeInstanceOf(DmError);
      const e = err as DmError;
      const kernel = kernelReason(c.dmesg);
      if (kernel) {
        expect(e.message).toContain(kernel.reason);
        expect(e.code).toBe(kernel.code);
      } else {
        // dmsetup itself refused: "Invalid format on line N of table".
        const line = /Invalid format on line (\d+)/.exec(c.out.join('\n'))![1];
        expect(e.message).toMatch(new RegExp(`^line ${line}: invalid format`));
        expect(e.code).toBe('EINVAL');
      }
      // A refused create leaves no device behind, as dmsetup removes it.
      expect(dm.ls().map((d) => d.name)).not.toContain('t');
    });
  }
});

describe('where the table error points', () => {
  let dm: DeviceMapper;
  beforeEach(() => {
    dm = new DeviceMapper({ bus: new EventBus() });
    dm.addBackingDevice('/dev/vda', new MemoryDevice('/dev/vda', VDA_SECTORS));
  });
  afterEach(() => dm.close());

  it.each([
    ['0 100 linear /dev/vda 0\n200 100 linear /dev/vda 0', /^line 2: linear: Gap in table \(word 1: "200"\)$/],
    ['# header\n\n0 100 zero\n100 5 flakey /dev/vda 0 1 x', /^line 4: flakey: Invalid up interval \(word 7: "x"\)$/],
    ['0 8 delay /dev/vda 0 10 /dev/nope 0 5', /^line 1: delay: Device lookup failed: .*\(word 7: "\/dev\/nope"\)$/],
    [
      '0 8 flakey /dev/vda 0 1 1 2 drop_writes error_writes',
      /^line 1: flakey: Feature error_writes conflicts with feature drop_writes \(word 10: "error_writes"\)$/,
    ],
    ['0 8 zero\n8 0 zero', /^line 2: zero: zero-length target/],
    ['0 8 zero extra', /^line 1: zero: No arguments required \(word 4: "extra"\)$/],
  ])('%j', async (table, message) => {
    await expect(dm.create('t', table)).rejects.toThrow(message);
  });

  it('refuses a reload that names the device itself (6.1 accepts it and the device can never be removed)', async () => {
    await dm.create('self', '0 100 zero');
    await expect(dm.load('self', '0 100 linear /dev/mapper/self 0')).rejects.toMatchObject({
      code: 'ENODEV',
      message: expect.stringContaining('a table may not refer to its own device'),
    });
    await dm.remove('self');
  });

  it('refuses a reload that would make two devices use each other', async () => {
    await dm.create('a', '0 100 zero');
    await dm.create('b', '0 100 linear /dev/mapper/a 0');
    await expect(dm.load('a', '0 100 linear /dev/mapper/b 0')).rejects.toThrow(/form a loop/);
  });

  it('an empty table creates a device with no table, as dmsetup create does', async () => {
    await dm.create('e', '# nothing here\n\n');
    expect((await dm.info('e'))[0]).toMatchObject({ tablesPresent: 'None', targetCount: 0 });
    await expect(dm.load('e', '')).rejects.toThrow(/no targets/);
  });
});
