// The table text reader (dmsetup's line parser + dm_split_args) and random garbage: every table is either
// built or refused with a DmError, never a crash, and a refused load changes nothing.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmError } from '../../src/base/errors.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { parseTable, splitArgs } from '../../src/dm/table-parser.js';
import { DeviceMapper } from '../../targets/device-mapper.js';

describe('parseTable', () => {
  it('skips blank lines and # comments but counts them in line numbers', () => {
    const lines = parseTable('# c\n\n  0 8 zero\n\t# indented\n8 8 linear /dev/a 0\n');
    expect(lines.map((l) => [l.line, l.start, l.length, l.type, l.args])).toEqual([
      [3, 0n, 8n, 'zero', []],
      [5, 8n, 8n, 'linear', ['/dev/a', '0']],
    ]);
  });

  it('reads numbers as sscanf("%llu %llu %s") does: "0 1y0 zero" is length 1 of type y0', () => {
    expect(parseTable('0 1y0 zero')[0]).toMatchObject({ start: 0n, length: 1n, type: 'y0', args: ['zero'] });
  });

  it('wraps a negative length as strtoull does', () => {
    expect(parseTable('0 -5 zero')[0]!.length).toBe((1n << 64n) - 5n);
  });

  it.each(['x 100 zero', '0 100', '0x0 100 zero', '0', 'zero'])('refuses %j as dmsetup does (Invalid format)', (t) => {
    expect(() => parseTable(t)).toThrow(/^line 1: invalid format/);
  });

  it('splits parameters on whitespace with backslash escapes (dm_split_args)', () => {
    expect(splitArgs('  a\\ b\tc \\\\d  e\\')).toEqual(['a b', 'c', '\\d', 'e\\']);
  });
});

describe('random tables', () => {
  let dm: DeviceMapper;
  beforeAll(() => {
    dm = new DeviceMapper({ bus: new EventBus() });
    dm.addBackingDevice('/dev/a', new MemoryDevice('/dev/a', 4096));
  });
  afterAll(() => dm.close());

  const word = fc.oneof(
    fc.constantFrom(
      '0',
      '1',
      '8',
      '100',
      '4096',
      '-1',
      '4294967296',
      'x',
      '',
      '#',
      '\\',
      'linear',
      'zero',
      'error',
      'flakey',
      'delay',
    ),
    fc.constantFrom(
      '/dev/a',
      '/dev/mapper/g',
      '/dev/mapper/nope',
      'drop_writes',
      'error_writes',
      'corrupt_bio_byte',
      'r',
      'w',
      '5',
      '6',
    ),
    fc.string({ maxLength: 6 }),
  );
  const line = fc.array(word, { maxLength: 12 }).map((ws) => ws.join(' '));
  const table = fc.oneof(
    fc.array(line, { maxLength: 4 }).map((ls) => ls.join('\n')),
    fc.string({ maxLength: 80 }),
  );

  it('builds or refuses with a DmError, and a refused reload leaves the device as it was', async () => {
    await dm.create('g', '0 64 zero');
    await fc.assert(
      fc.asyncProperty(table, async (text) => {
        try {
          await dm.load('g', text);
          await dm.clear('g');
        } catch (e) {
          expect(e).toBeInstanceOf(DmError);
          expect((e as DmError).message.length).toBeGreaterThan(0);
        }
        expect(await dm.table('g')).toEqual([{ name: 'g', start: 0, length: 64, target: 'zero', params: '' }]);
        expect((await dm.info('g'))[0]!.tablesPresent).toBe('LIVE');
      }),
      { numRuns: 400 },
    );
  });
});
